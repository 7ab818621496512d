"""Ours on a task: the whole product as processes on ghsim (bench/stack.py: ghsim, `issue-pilot
serve`, `issue-pilot worker`), used as alice would: push the task's repository, open its issue,
label it, wait for the run to rest (ready, asked, failed, ...), then fetch the run's branch and
judge it. Tokens are the run's own count (its status summary). A run still moving at the
time-out is stopped with `/pilot stop`, so no two runs ever talk to the model at once."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from bench.solve_judge import Result, Task, TaskError, git, score
from bench.solve_model import Endpoint
from bench.stack import BenchError, Stack, docker_client, redis_url, running_stack
from bot.core.feed import RunSummary, summary_key
from bot.dev.display import settled
from bot.run.state import run_dir_name

OWNER = "alice"
TOKEN = f"ghp_sim_{OWNER}"
LABEL = "pilot"
STOP_WAIT_S = 180.0
# CI on ghsim answers in seconds; should it not, the run falls back to its own test command
# well within the bench's time-out instead of GitHub's default half hour.
WORKER_ENV = {"PILOT_CI_TIMEOUT_S": "180"}


@contextmanager
def ours_stack(endpoint: Endpoint, redis_db: int, log_dir: Path) -> Iterator[Stack]:
    """One stack for every task; its logs are kept in `log_dir` when it stops."""
    docker_client().close()  # a clear error now rather than a failed run later
    env = {**endpoint.worker_env, **WORKER_ENV}
    url = redis_url(redis_db)
    with running_stack(url, log_level="INFO", llm_url=endpoint.base_url, extra_env=env) as stack:
        try:
            yield stack
        finally:
            log_dir.mkdir(parents=True, exist_ok=True)
            for log in stack.tmp.glob("*.log"):
                shutil.copyfile(log, log_dir / log.name)


def push_repo(stack: Stack, task: Task, work: Path) -> str:
    full_name = f"{OWNER}/{task.slug}"
    with stack.person(OWNER) as gh:
        made = gh.post("/user/repos", json={"name": task.slug, "description": task.kind})
        if made.status_code >= 300:
            raise BenchError(f"creating {full_name}: {made.status_code} {made.text[:200]}")
    seed = work / "seed"
    shutil.copytree(task.repo, seed)
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", f"{task.slug}: as shipped")
    git(seed, "push", "-q", stack.git_url(full_name, TOKEN), "main")
    return full_name


def open_issue(stack: Stack, full_name: str, task: Task) -> int:
    with stack.person(OWNER) as gh:
        issue = gh.post(f"/repos/{full_name}/issues", json={"title": task.title, "body": task.body})
        issue.raise_for_status()
        number = int(issue.json()["number"])
        labels = {"labels": [LABEL]}
        gh.post(f"/repos/{full_name}/issues/{number}/labels", json=labels).raise_for_status()
    return number


def read_summary(stack: Stack, run_id: str) -> RunSummary | None:
    client = redis.Redis.from_url(stack.env["PILOT_REDIS_URL"])
    try:
        text = client.get(summary_key(run_id))
    finally:
        client.close()
    return RunSummary.from_json(text) if isinstance(text, (str, bytes)) else None


def wait_for_rest(stack: Stack, run_id: str, timeout_s: float) -> RunSummary | None:
    """The run's summary once it rests, or as it is at the time-out."""
    deadline = time.monotonic() + timeout_s
    summary = None
    while time.monotonic() < deadline:
        stack.check_alive()
        summary = read_summary(stack, run_id)
        if settled(summary):
            break
        time.sleep(1.0)
    return summary


def stop_run(stack: Stack, full_name: str, number: int, run_id: str) -> RunSummary | None:
    """`/pilot stop` as alice; a run that does not stop (a planner's model call is not cut
    short by the stop flag) gets its worker restarted, and the new worker finds the flag."""
    with stack.person(OWNER) as gh:
        gh.post(
            f"/repos/{full_name}/issues/{number}/comments", json={"body": "/pilot stop"}
        ).raise_for_status()
    summary = wait_for_rest(stack, run_id, STOP_WAIT_S)
    if settled(summary):
        return summary
    restart_worker(stack)
    summary = wait_for_rest(stack, run_id, STOP_WAIT_S)
    if not settled(summary):
        raise BenchError(
            f"{full_name}#{number} still moves after `/pilot stop` and a worker restart; "
            f"the next task would share the model with it. Worker log:\n"
            f"{stack.log_tail('worker')}"
        )
    return summary


def restart_worker(stack: Stack) -> None:
    worker = stack.procs["worker"]
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    stack.respawn("worker")


def fetch_result(
    stack: Stack, full_name: str, number: int, summary: RunSummary | None, tree: Path
) -> str:
    """Clones the repository into `tree` and checks out the run's work: its branch, or the
    ref it was held on. Returns a note when there was none (the tree is then `main`)."""
    git(tree.parent, "clone", "-q", stack.git_url(full_name, TOKEN), tree.name)
    refs = [summary.branch] if summary is not None and summary.branch else []
    refs.append(f"refs/pilot/{number}")
    for ref in refs:
        try:
            git(tree, "fetch", "-q", "origin", ref)
        except TaskError:
            continue
        git(tree, "checkout", "-q", "-B", "result", "FETCH_HEAD")
        return ""
    return "no branch pushed"


def trajectory_tokens(path: Path) -> int:
    """Prompt and completion tokens of every model call the run's trajectory recorded: the
    planner's (`usage`), each draft's (`tokens`) and each agent step's (`queries[].tokens`)."""
    total = 0
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        usage = record.get("usage")
        if isinstance(usage, dict):
            total += int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)
        drafted = record.get("tokens") if record.get("kind") == "draft" else None
        if isinstance(drafted, dict):
            total += int(drafted.get("prompt") or 0) + int(drafted.get("completion") or 0)
        for query in record.get("queries") or []:
            tokens = query.get("tokens") if isinstance(query, dict) else None
            if isinstance(tokens, dict):
                total += int(tokens.get("prompt") or 0) + int(tokens.get("completion") or 0)
    return total


def run_tokens(summary: RunSummary | None, trajectory: Path) -> int | None:
    """The larger of the run's own count and its trajectory's: the run counts a requirement's
    tokens when it ends, so one cut short by `/pilot stop` is only in the trajectory."""
    counted = [trajectory_tokens(trajectory)]
    if summary is not None:
        counted.append(summary.tokens_used)
    return max(counted) if summary is not None or trajectory.exists() else None


def phase_note(summary: RunSummary | None, timed_out: bool) -> str:
    if summary is None:
        return "the run never started"
    note = summary.phase
    if summary.phase in ("ready", "merged") and summary.pr_number:
        note = f"PR #{summary.pr_number} {summary.phase}"
    detail = summary.question if summary.phase == "asked" else summary.error
    if detail:
        flat = " ".join(detail.split())
        note += f": {flat[:90]}…" if len(flat) > 90 else f": {flat}"
    return f"timed out, then {note}" if timed_out else note


def run_ours(
    stack: Stack, task: Task, log_dir: Path, timeout_s: float, baseline_ran: int
) -> Result:
    with tempfile.TemporaryDirectory(prefix=f"solve-{task.slug}-") as tmp:
        work = Path(tmp)
        full_name = push_repo(stack, task, work)
        number = open_issue(stack, full_name, task)
        run_id = run_dir_name(full_name, number)
        began = time.monotonic()
        summary = wait_for_rest(stack, run_id, timeout_s)
        timed_out = not settled(summary)
        if timed_out:
            summary = stop_run(stack, full_name, number, run_id)
        seconds = time.monotonic() - began
        log_dir.mkdir(parents=True, exist_ok=True)
        trajectory = stack.runs_dir / run_id / "trajectory.jsonl"
        if trajectory.exists():
            shutil.copyfile(trajectory, log_dir / "trajectory.jsonl")
        tree = work / "result"
        notes = [
            phase_note(summary, timed_out),
            fetch_result(stack, full_name, number, summary, tree),
        ]
        return score(
            task, "ours", tree, log_dir, baseline_ran,
            seconds=seconds,
            tokens=run_tokens(summary, trajectory),
            note="; ".join(n for n in notes if n),
            claimed=summary is not None and summary.phase in ("ready", "merged"),
        )  # fmt: skip
