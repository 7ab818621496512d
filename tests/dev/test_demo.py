"""`issue-pilot demo` end to end: ghsim, serve, worker and a real run, with the scripted model
standing in for a capable one; and Ctrl-C stopping what the demo started, and only that."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import docker
import httpx
import pytest
import yaml

from bot.dev.scripted_model import ScriptedModel, load_script
from tests.services import ROOT, setting
from tests.stack_support import leftovers

SCRIPT = ROOT / "bot" / "dev" / "demo_script.yaml"
RUN_ID = "alice__textkit__issue-1"


class Output:
    """The demo's standard output, read as it comes."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, needle: str, timeout_s: float, proc: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + timeout_s
        while needle not in self.text:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no {needle!r} in the demo's output:\n{self.text}")
            time.sleep(0.2)


@pytest.fixture
def scripted() -> Iterator[ScriptedModel]:
    with ScriptedModel() as model:
        model.set_script(load_script(SCRIPT))
        yield model


def demo(tmp: Path, redis_url: str, model: ScriptedModel, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PILOT_")}
    env.update(
        PILOT_LLM_BASE_URL=model.base_url,
        PILOT_LLM_MODEL="scripted",
        PILOT_LLM_API_KEY="scripted",
        PILOT_SANDBOX_IMAGE=setting("PILOT_SANDBOX_IMAGE", "issue-pilot-sandbox:bookworm-1") or "",
        DOCKER_HOST=setting("DOCKER_HOST", "") or "",
    )
    command = [sys.executable, "-m", "bot.cli", "demo", "--data-dir", str(tmp / "demo")]
    command += ["--redis-url", redis_url, *args]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line or environment names `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in seen:
            found.append(int(entry.name))
    return found


def link(output: str, name: str) -> str:
    match = re.search(rf"^{name}:\s+(\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_the_demo_solves_the_issue_and_shows_where_to_look(
    tmp_path: Path, redis_url: str, scripted: ScriptedModel, docker_api: docker.DockerClient
) -> None:
    proc = demo(tmp_path, redis_url, scripted, "--exit")
    assert proc.stdout is not None
    out, _ = proc.communicate(timeout=300)

    assert proc.returncode == 0, out
    assert "alice opened issue #1 and labelled it `pilot`" in out
    assert "R1 step 2: write_file textkit/slug.py" in out
    assert re.search(r"^Verdict: solved in \d+:\d\d: PR #2 is ready", out, re.MULTILINE), out
    assert link(out, "pull request").endswith("/alice/textkit/pull/2")
    assert "/dashboard/runs/alice__textkit__issue-1?token=" in link(out, "dashboard")
    assert "stopped: worker, web, ghsim" in out
    assert processes_mentioning(str(tmp_path)) == []
    assert leftovers(docker_api, RUN_ID) == []
    # The planner saw the project alice pushed.
    plan_request: dict[str, Any] = scripted.requests()[0]
    assert "textkit/slug.py" in yaml.safe_dump(plan_request)


def test_ctrl_c_stops_what_the_demo_started_and_nothing_else(
    tmp_path: Path, redis_url: str, scripted: ScriptedModel
) -> None:
    bystander = subprocess.Popen(["sleep", "120"], start_new_session=True)
    proc = demo(tmp_path, redis_url, scripted)
    assert proc.stdout is not None
    output = Output(proc.stdout)
    try:
        output.wait_for("Ctrl-C stops it", 300, proc)
        sim = link(output.text, "issue").split("/alice/")[0]
        web = link(output.text, "dashboard").split("/dashboard/")[0]
        assert httpx.get(f"{web}/healthz").status_code == 200

        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)  # an impatient second Ctrl-C orphans nothing
        assert proc.wait(60) == 130

        assert "stopped: worker, web, ghsim" in output.text
        for url in (sim, f"{web}/healthz"):
            with pytest.raises(httpx.ConnectError):
                httpx.get(url, timeout=2)
        assert processes_mentioning(str(tmp_path)) == []
        assert bystander.poll() is None
    finally:
        if proc.poll() is None:
            proc.kill()
        bystander.kill()
        bystander.wait()


def test_ctrl_c_in_the_middle_of_a_run_leaves_no_sandbox_behind(
    tmp_path: Path, redis_url: str, docker_api: docker.DockerClient
) -> None:
    steps = load_script(SCRIPT)
    # The model "thinks" for two minutes before its second step: the sandbox is up meanwhile.
    steps[2] = steps[2].model_copy(update={"delay_s": 120.0})
    with ScriptedModel() as model:
        model.set_script(steps)
        proc = demo(tmp_path, redis_url, model)
        assert proc.stdout is not None
        output = Output(proc.stdout)
        try:
            output.wait_for("R1 step 1:", 300, proc)
            assert leftovers(docker_api, RUN_ID) != []

            proc.send_signal(signal.SIGINT)
            assert proc.wait(90) == 130
        finally:
            if proc.poll() is None:
                proc.kill()
    assert "stopped: worker, web, ghsim" in output.text
    assert processes_mentioning(str(tmp_path)) == []
    assert leftovers(docker_api, RUN_ID) == []


def test_ctrl_c_with_its_reader_gone_still_stops_everything(
    tmp_path: Path, redis_url: str, scripted: ScriptedModel
) -> None:
    """`make demo | tee log`: Ctrl-C ends tee first, and the demo's output has nowhere to go."""
    proc = demo(tmp_path, redis_url, scripted)
    assert proc.stdout is not None
    try:
        seen = ""
        deadline = time.monotonic() + 300
        while "Ctrl-C stops it" not in seen:
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline, seen
            seen += line
        proc.stdout.close()

        proc.send_signal(signal.SIGINT)
        proc.wait(90)

        assert processes_mentioning(str(tmp_path)) == []
    finally:
        if proc.poll() is None:
            proc.kill()
