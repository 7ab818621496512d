"""The peers bench/solve.py measures ours against, each on a fresh copy of a task's repository
(a git work tree on `main`), with the same model server and time-out as ours:

- mini-swe-agent, with its text-based config (bench/peers/mini.yaml), its model through litellm;
  tokens from its trajectory file;
- aider, given every file of the repository up front, `--test-cmd` with `--auto-test`; tokens
  from its "Tokens: … sent, … received" lines.

Each runs from its own virtual environment under .run/peers (scripts/peers.sh installs them), as
a process group of its own that the time-out kills whole.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.solve_judge import Result, Task, git, score, work_tree
from bench.solve_model import ROOT, Endpoint
from bench.stack import BenchError

PEERS_DIR = ROOT / ".run" / "peers"
MINI_CONFIG = ROOT / "bench" / "peers" / "mini.yaml"
EXECUTABLES = {"mini": "mini", "aider": "aider"}
GRACE_S = 30.0  # past the agent's own time limit, before its process group is killed
_TOKENS = re.compile(r"Tokens: ([\d.]+)([kKM]?) sent, ([\d.]+)([kKM]?) received")
_SCALE = {"": 1, "k": 1_000, "K": 1_000, "M": 1_000_000}


def executable(name: str) -> Path:
    return PEERS_DIR / name / "bin" / EXECUTABLES[name]


def ensure_peers(names: list[str]) -> None:
    """Installs the peers that are missing (minutes, once) with scripts/peers.sh."""
    missing = [name for name in names if not executable(name).exists()]
    if not missing:
        return
    done = subprocess.run(["bash", str(ROOT / "scripts" / "peers.sh"), *missing], cwd=ROOT)
    if done.returncode != 0:
        raise BenchError(f"scripts/peers.sh {' '.join(missing)} failed; see its output above")


@dataclass(frozen=True)
class Exited:
    seconds: float
    code: int | None  # None: killed at the time-out


def run_bounded(
    command: list[str], cwd: Path, env: dict[str, str], log: Path, timeout_s: float
) -> Exited:
    """`command` with its output in `log`; its whole process group killed at `timeout_s`."""
    began = time.monotonic()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code: int | None = proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _kill_group(proc)
    return Exited(time.monotonic() - began, code)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """The agent's children too (a test run it started, a server it left behind)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def peer_env(endpoint: Endpoint, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PILOT_", "VIRTUAL_ENV"))}
    env.update(
        OPENAI_API_KEY=endpoint.api_key,
        # litellm fetches its price list from the internet unless told to use its own copy.
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        PYTHONDONTWRITEBYTECODE="1",
    )
    home.mkdir(parents=True, exist_ok=True)
    return env


# -- mini-swe-agent ------------------------------------------------------------------------------


def mini_tokens(trajectory: Path) -> int | None:
    """Prompt and completion tokens of every model call the trajectory recorded."""
    try:
        data = json.loads(trajectory.read_text())
    except (OSError, ValueError):
        return None
    total = 0
    for message in data.get("messages", []):
        response = (message.get("extra") or {}).get("response")
        usage = response.get("usage") if isinstance(response, dict) else None
        if isinstance(usage, dict):
            total += int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)
    return total


def mini_exit(trajectory: Path) -> str:
    try:
        info: dict[str, Any] = json.loads(trajectory.read_text()).get("info", {})
    except (OSError, ValueError):
        return "no trajectory"
    return str(info.get("exit_status") or "no exit status")


def run_mini(
    task: Task, endpoint: Endpoint, work: Path, log_dir: Path, timeout_s: float, baseline_ran: int
) -> Result:
    tree = work_tree(task, work / task.slug)
    log_dir.mkdir(parents=True, exist_ok=True)
    trajectory = log_dir / "trajectory.json"
    env = peer_env(endpoint, work / "mini-home")
    env.update(
        MSWEA_CONFIGURED="true",  # else it asks for a model and a key on first start
        MSWEA_SILENT_STARTUP="1",
        MSWEA_GLOBAL_CONFIG_DIR=str(work / "mini-home"),
        MSWEA_COST_TRACKING="ignore_errors",
    )
    command = [
        str(executable("mini")),
        "-c", str(MINI_CONFIG),
        "-c", f"model.model_kwargs.api_base={endpoint.base_url}",
        "-c", f"environment.cwd={tree}",
        "-c", f"agent.wall_time_limit_seconds={int(timeout_s)}",
        "-m", endpoint.litellm_model,
        "-t", task.text,
        "-o", str(trajectory),
    ]  # fmt: skip
    exited = run_bounded(command, tree, env, log_dir / "mini.log", timeout_s + GRACE_S)
    note = mini_exit(trajectory) if exited.code is not None else "killed at the time-out"
    return score(
        task, "mini", tree, log_dir, baseline_ran,
        seconds=exited.seconds, tokens=mini_tokens(trajectory), note=note,
    )  # fmt: skip


# -- aider ---------------------------------------------------------------------------------------


def aider_tokens(output: str) -> int | None:
    """The sum of aider's "Tokens: 2.1k sent, 130 received." lines; None when it printed none."""
    found = _TOKENS.findall(output)
    if not found:
        return None
    return sum(
        round(float(sent) * _SCALE[s_unit]) + round(float(got) * _SCALE[g_unit])
        for sent, s_unit, got, g_unit in found
    )


def repo_files(tree: Path) -> list[str]:
    """Every file of the repository but its GitHub settings (CI, pilot.yml)."""
    listed = git(tree, "ls-files").splitlines()
    return [path for path in listed if not path.startswith(".github/")]


def run_aider(
    task: Task, endpoint: Endpoint, work: Path, log_dir: Path, timeout_s: float, baseline_ran: int
) -> Result:
    tree = work_tree(task, work / task.slug)
    log_dir.mkdir(parents=True, exist_ok=True)
    home = work / "aider-home"
    env = peer_env(endpoint, home)
    env["HOME"] = str(home)  # aider keeps its caches and analytics choice under ~/.aider
    command = [
        str(executable("aider")),
        "--model", endpoint.litellm_model,
        "--openai-api-base", endpoint.base_url,
        "--openai-api-key", endpoint.api_key,
        "--test-cmd", task.test,
        "--auto-test",
        "--yes-always",
        "--no-auto-commits",
        "--no-gitignore",
        "--no-check-update",
        "--no-show-release-notes",
        "--analytics-disable",
        "--no-show-model-warnings",
        "--no-pretty",
        "--no-fancy-input",
        "--no-detect-urls",
        "--no-suggest-shell-commands",
        "--input-history-file", str(log_dir / "input.history"),
        "--chat-history-file", str(log_dir / "chat.history.md"),
        "--timeout", str(int(timeout_s)),
        "--message", task.text,
    ]  # fmt: skip
    for path in repo_files(tree):
        command += ["--file", path]
    log = log_dir / "aider.log"
    exited = run_bounded(command, tree, env, log, timeout_s)
    output = log.read_text(errors="replace") if log.exists() else ""
    note = f"exit {exited.code}" if exited.code is not None else "killed at the time-out"
    return score(
        task, "aider", tree, log_dir, baseline_ran,
        seconds=exited.seconds, tokens=aider_tokens(output), note=note,
    )  # fmt: skip
