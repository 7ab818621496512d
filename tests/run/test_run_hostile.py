"""A hostile agent inside a real run: every command it tries gets an answer, the run still ends
with its commit and pull request text, and nothing leaks out of the sandbox or into it."""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest
import redis

from bot.agent.llm import llm_from_settings
from bot.agent.trajectory import read_trajectory
from bot.core.settings import get_settings
from bot.dev.scripted_model import ScriptedModel
from bot.run.local import read_issue, run_local
from bot.run.state import Phase, run_dir_name
from bot.run.worker import run_deps_from
from bot.sandbox.docker_sandboxes import DockerSandboxes
from tests.ghsim_support import wait_until
from tests.run.test_run_local import call, git, make_repo, node_trailers, requirement
from tests.services import setting, unavailable
from tests.stack_support import docker_client, leftovers

REDIS_PORT = 6390
# The agent greps for this pattern; it matches the secret without being the secret, so the
# command itself (and any /proc/*/cmdline it could read) never holds what is searched for.
SECRET_PREFIX = "sk-hostile-test-"
SECRET_PATTERN = "sk-hostile-tes[t]-"
NOTES = "Notes written after the hostile commands.\n"

CONNECT = """
import socket, sys
for host, port in [("1.1.1.1", 80), (sys.argv[1], int(sys.argv[2]))]:
    try:
        socket.create_connection((host, port), timeout=3).close()
        print(f"REACHED {host}:{port}")
    except OSError as exc:
        print(f"BLOCKED {host}:{port}: {exc}")
"""


def bridge_gateway(client: docker.DockerClient) -> str:
    try:
        configs = client.networks.get("bridge").attrs["IPAM"]["Config"] or []
    except (docker.errors.NotFound, KeyError):
        configs = []
    return next((c["Gateway"] for c in configs if c.get("Gateway")), "172.17.0.1")


def redis_answers() -> bool:
    url = setting("PILOT_TEST_REDIS_URL", f"redis://127.0.0.1:{REDIS_PORT}/0")
    assert url is not None
    client = redis.Redis.from_url(url, socket_timeout=3)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def command(key: str, text: str, timeout_s: float) -> tuple[str, dict[str, Any]]:
    return key, call("run_command", command=text, timeout_s=timeout_s)


async def test_hostile_commands_are_contained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = docker_client()
    image = setting("PILOT_SANDBOX_IMAGE", "issue-pilot-sandbox:bookworm-1")
    assert image is not None
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        unavailable(f"the sandbox image {image}")
    if not redis_answers():
        unavailable("the host's Redis")
    gateway = bridge_gateway(client)

    secret = f"{SECRET_PREFIX}{uuid.uuid4().hex}"
    hook_secret = f"whsec-{uuid.uuid4().hex}"
    # The worker's own secrets, and one in a host file: none of them may reach the sandbox.
    monkeypatch.setenv("PILOT_LLM_API_KEY", secret)
    monkeypatch.setenv("PILOT_GITHUB_WEBHOOK_SECRET", hook_secret)
    (tmp_path / "host-secret.txt").write_text(f"token={secret}\n")
    host_paths = [tmp_path / "sentinel-touch", tmp_path / "sentinel-write", tmp_path / "x"]
    host_paths += [Path("/etc/pwned"), Path("/pwned"), Path("/x")]
    existed = {path: path.exists() for path in host_paths}

    steps = [
        command("fork_bomb", ":(){ :|:& };:", 5),
        command("after_fork_bomb", "echo still-alive", 10),
        command("raging_fork_bomb", ":(){ :|:& };:; sleep 2; echo bomb-done", 5),
        command("detached_fork_bomb", "setsid bash -c ':(){ :|:& };:' & sleep 1", 5),
        command("after_detached", "echo still-alive", 10),
        command("memory", 'python3 -c "x = bytearray(2 * 1024**3)"', 30),
        command("network", f"python3 -c '{CONNECT}' {gateway} {REDIS_PORT}", 15),
        command(
            "secrets",
            "env; cat /proc/1/environ; echo; printf 'sk-hostile-%s-control\\n' test > /tmp/c; "
            f"grep -rsE '{SECRET_PATTERN}' / --exclude-dir=proc --exclude-dir=sys",
            8,
        ),
        command(
            "write_outside",
            "touch /etc/pwned; touch /pwned; echo x > /workspace/../x; "
            f"touch {tmp_path / 'sentinel-touch'}; echo x > {tmp_path / 'x'}; "
            "ls /etc/pwned /pwned /x",
            10,
        ),
        (
            "write_file_outside",
            call("write_file", path=f"../../..{tmp_path / 'sentinel-write'}", content="x"),
        ),
        command("sleep", "sleep 9999", 3),
        ("notes", call("write_file", path="NOTES.md", content=NOTES)),
        ("finish", call("finish", summary="Survived.")),
    ]
    plan = call("submit_plan", requirements=[requirement("H1", "Write notes", [])])

    repo = make_repo(tmp_path / "target", {"README.md": "# target\n"})
    issue_file = tmp_path / "issue.md"
    issue_file.write_text("# Write notes\n\nWrite NOTES.md.\n")
    run_id = run_dir_name(f"local/{repo.name}", 5)
    out = io.StringIO()
    started = time.monotonic()
    with ScriptedModel([plan, *(step for _, step in steps)]) as model:
        settings = get_settings(
            llm_base_url=model.base_url,
            llm_model="scripted",
            llm_max_tries=1,
            runs_dir=tmp_path / "runs",
            cache_dir=tmp_path / "cache",
            sandbox_image=image,
        )
        assert settings.llm_api_key is not None
        assert settings.llm_api_key.get_secret_value() == secret
        deps = run_deps_from(settings, llm_from_settings(settings), DockerSandboxes(client))
        assert deps is not None
        state = await run_local(deps, repo.resolve(), read_issue(issue_file, 5), out)
        elapsed = time.monotonic() - started
        assert model.state()["remaining"] == 0

    # The run went to its end.
    assert state.phase is Phase.AWAIT_CI, out.getvalue()
    assert state.error is None and state.question is None
    assert elapsed < 80, elapsed
    branch = "pilot/issue-5-write-notes"
    assert node_trailers(repo, branch) == [("#5", "H1")]
    assert git(repo, "show", f"{branch}:NOTES.md") == NOTES
    changed = git(repo, "diff", "--name-only", f"main..{branch}").split()
    assert changed == ["NOTES.md"]
    run_dir = tmp_path / "runs" / run_id
    assert "Closes #5" in (run_dir / "pull_request.md").read_text()

    # Every hostile call got its own observation.
    records = read_trajectory(run_dir)
    calls: dict[str, str] = {}
    observations: dict[str, str] = {}
    for record in records:
        if record["kind"] != "step":
            continue
        for query in record["queries"]:
            for tool_call in query["response"]["tool_calls"]:
                calls[tool_call["id"]] = tool_call["arguments"]
        for action in record["actions"]:
            observations[action["id"]] = action["observation"]
    assert len(calls) == len(steps)
    seen = {}
    for (key, step), (call_id, arguments) in zip(steps, calls.items(), strict=True):
        assert json.loads(arguments) == step["tool_calls"][0]["arguments"]
        seen[key] = observations[call_id]

    assert "timed out (killed)" in seen["fork_bomb"] or "exit code" in seen["fork_bomb"]
    for key in ("raging_fork_bomb", "detached_fork_bomb"):
        assert seen[key].startswith(("exit code", "timed out (killed)")), seen[key]
    for key in ("after_fork_bomb", "after_detached"):
        assert seen[key].startswith("exit code 0"), seen[key]
        assert "still-alive" in seen[key]
    assert seen["memory"].startswith(("exit code", "timed out"))
    assert not seen["memory"].startswith("exit code 0 ")
    network = seen["network"]
    assert "REACHED" not in network, network
    assert "BLOCKED 1.1.1.1:80" in network and f"BLOCKED {gateway}:{REDIS_PORT}" in network
    assert seen["secrets"].startswith(("exit code", "timed out")), seen["secrets"]
    assert "PILOT_" not in seen["secrets"]
    # The search did run: it found the decoy the command itself wrote.
    assert "/tmp/c:sk-hostile-test-control" in seen["secrets"], seen["secrets"]
    write_outside = seen["write_outside"]
    assert not write_outside.startswith("exit code 0 "), write_outside
    for path in ("/etc/pwned", "/pwned", "/x"):
        assert f"ls: cannot access '{path}'" in write_outside, write_outside
    assert seen["write_file_outside"].startswith("Error:"), seen["write_file_outside"]
    assert "outside the workspace" in seen["write_file_outside"]
    sleep = seen["sleep"]
    assert sleep.startswith("timed out (killed) after "), sleep
    assert float(sleep.split(" after ", 1)[1].split("s", 1)[0]) < 10
    assert seen["notes"].startswith("Wrote NOTES.md")

    # Nothing of the worker's secrets anywhere in what the run kept or printed.
    for kept in sorted(run_dir.iterdir()):
        text = kept.read_text(errors="replace")
        assert secret not in text, kept
        assert hook_secret not in text, kept
    assert secret not in out.getvalue() and hook_secret not in out.getvalue()

    # The host is as it was.
    assert {path: path.exists() for path in host_paths} == existed
    assert redis_answers()
    try:
        wait_until(lambda: not leftovers(client, run_id), 20, "the sandbox to be removed")
    finally:
        client.close()
