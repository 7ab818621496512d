"""Label → draft pull request, end to end, against the floor of the same work done bare.

Starts ghsim, `issue-pilot serve`, `issue-pilot worker` and the scripted model (bench/stack.py),
makes a small repository, and labels a fresh issue in it `--runs` times. The scripted run is the
smallest realistic one: a plan with one node, then the agent writes one file, runs one command
and finishes. Each run is timed from the `add_labels` call returning to the pull request being
listed by the API, and broken down with the timing records the worker writes into the run's
trajectory (queue, fetch, plan, sandbox, container, agent, commit, push, check, pull_request;
"other" is the rest: webhook delivery, the label handler, status comments).

Floor rounds alternate with the runs, so machine noise hits both: a bare `git clone` of the same
repository over HTTP, one container create+start+remove from the sandbox image (network none),
and a push of a one-file commit to a new branch over HTTP with a token.

Then (unless --no-big) the same on a 20,000-file repository: the first run warms the worker's
mirror cache; the second (and `--big-runs` warm runs in all) are compared with the small median.
A run that fails (a sandbox killed under it, say) is redone on a new issue and counted.

    uv run python bench/pipeline.py [--runs 5] [--no-big] [--big-files 20000] [--big-runs 3]
                                    [--with-test]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import (
    BenchError,
    Stack,
    docker_client,
    git,
    redis_url,
    running_stack,
    sandbox_image,
    wait_until,
)
from bot.github.status_comment import parse_state
from bot.run.state import run_dir_name

BENCH_DB = 14
OWNER = "alice"
TOKEN = f"ghp_sim_{OWNER}"
PHASES = (
    "queue", "fetch", "plan", "sandbox", "container", "agent", "commit", "push", "check",
    "pull_request",
)  # fmt: skip
# The run is still working in these; any other phase means it has settled after the PR.
ACTIVE = {"queued", "plan", "setup", "execute", "check", "pull_request", None}
TOTAL_TARGET_S = 3.0
FLOOR_RATIO_TARGET = 1.5
BIG_RATIO_TARGET = 2.0
RUN_TIMEOUT_S = 180.0

SMALL_REPO = {
    "README.md": "# greeter\n\nSays hello.\n",
    "pyproject.toml": '[project]\nname = "greeter"\nversion = "0.1.0"\n',
    "greeter/__init__.py": '"""Greets people."""\n',
    "greeter/cli.py": "import sys\n\n\ndef main() -> None:\n    print(sys.argv[1:])\n",
    "greeter/names.py": 'DEFAULT = "world"\n',
    "tests/__init__.py": "",
    "tests/test_names.py": (
        "import unittest\n\nfrom greeter.names import DEFAULT\n\n\n"
        "class NamesTest(unittest.TestCase):\n"
        "    def test_default(self) -> None:\n"
        '        self.assertEqual(DEFAULT, "world")\n'
    ),
}
GREET = 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


SCRIPT = [
    call(
        "submit_plan",
        requirements=[
            {
                "id": "R1",
                "title": "Add greet()",
                "description": "A greet function in greeter/greet.py.",
                "acceptance": ["greet('Ada') returns 'Hello, Ada!'"],
                "depends_on": [],
            }
        ],
    ),
    call("write_file", path="greeter/greet.py", content=GREET),
    call("run_command", command="python3 -c 'import greeter.greet as g; print(g.greet(\"A\"))'"),
    call("finish", summary="greet() added."),
]


class RunFailed(BenchError):
    """The run ended in `failed` instead of opening a pull request."""


# -- measurements -----------------------------------------------------------------------------


@dataclass
class Run:
    issue: int
    total_s: float
    phases_ms: dict[str, float]
    # Untimed stretches before each timed phase, from the records' `at` (epoch seconds at the
    # phase's end): the one before `fetch` starts at the label call (webhook, handler, queue).
    gaps_s: dict[str, float]
    pr_seen_after_s: float | None  # the PR call returned in the worker → the bench listed it

    @property
    def other_s(self) -> float:
        return self.total_s - sum(self.phases_ms.values()) / 1000


@dataclass
class Floor:
    clone_s: float
    container_s: float
    push_s: float
    remove_s: float  # the part of container_s spent removing it

    @property
    def total_s(self) -> float:
        return self.clone_s + self.container_s + self.push_s


@dataclass
class Repo:
    name: str
    issues: list[int] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{OWNER}/{self.name}"


def timing_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line being written
        if record.get("kind") == "timing":
            records.append(record)
    return records


def status_phase(stack: Stack, repo: Repo, number: int) -> str | None:
    with stack.person(OWNER) as gh:
        comments = gh.get(f"/repos/{repo.full_name}/issues/{number}/comments").json()
    for comment in comments:
        if comment["user"]["login"].endswith("[bot]"):
            state = parse_state(comment.get("body") or "")
            if state is not None:
                return str(state.get("phase"))
    return None


def run_once(stack: Stack, repo: Repo, title: str) -> Run:
    """Label a fresh issue, wait for its draft PR, read the worker's timing records."""
    stack.model.set_script(SCRIPT)
    with stack.person(OWNER) as gh:
        issue = gh.post(
            f"/repos/{repo.full_name}/issues",
            json={"title": title, "body": "We need a greet(name) function in greeter/."},
        )
        issue.raise_for_status()
        number = int(issue.json()["number"])
        repo.issues.append(number)
        gh.post(
            f"/repos/{repo.full_name}/issues/{number}/labels", json={"labels": ["pilot"]}
        ).raise_for_status()
        labelled_at, began = time.time(), time.perf_counter()
        prefix = f"pilot/issue-{number}-"

        polls = 0

        def pull_opened() -> bool:
            nonlocal polls
            stack.check_alive()
            polls += 1
            if polls % 25 == 0 and status_phase(stack, repo, number) == "failed":
                raise RunFailed(f"run #{number} failed; worker log:\n{stack.log_tail('worker', 8)}")
            pulls = gh.get(
                f"/repos/{repo.full_name}/pulls", params={"state": "all", "per_page": 100}
            ).json()
            return any(p["head"]["ref"].startswith(prefix) for p in pulls)

        try:
            wait_until(pull_opened, RUN_TIMEOUT_S, f"the draft PR for #{number}", every=0.02)
        except BenchError as exc:
            phase = status_phase(stack, repo, number)
            raise BenchError(
                f"{exc} (run phase: {phase}); worker log:\n{stack.log_tail('worker')}"
            ) from None
        total_s = time.perf_counter() - began
        seen_at = time.time()
    trajectory = stack.runs_dir / run_dir_name(repo.full_name, number) / "trajectory.jsonl"
    # The record is written just after the PR call returns; then the run saves its state.
    wait_until(
        lambda: any(r["phase"] == "pull_request" for r in timing_records(trajectory)),
        10,
        f"the pull_request timing of #{number}",
    )
    # Let the run settle (its last status comment), so runs never overlap.
    wait_until(lambda: status_phase(stack, repo, number) not in ACTIVE, 20, f"#{number} to settle")
    records = timing_records(trajectory)
    phases: dict[str, float] = {}
    for record in records:
        phases[record["phase"]] = phases.get(record["phase"], 0.0) + float(record["ms"])
    gaps: dict[str, float] = {}
    last_end = labelled_at
    for record in records:
        if "at" not in record:
            continue
        start = record["at"] - record["ms"] / 1000
        gaps[record["phase"]] = gaps.get(record["phase"], 0.0) + start - last_end
        last_end = max(last_end, record["at"])
    opened = next((r for r in records if r["phase"] == "pull_request" and "at" in r), None)
    return Run(
        issue=number,
        total_s=total_s,
        phases_ms=phases,
        gaps_s=gaps,
        pr_seen_after_s=seen_at - opened["at"] if opened else None,
    )


def measured_run(stack: Stack, repo: Repo, title: str, lost: list[str], tries: int = 3) -> Run:
    """`run_once`, on a new issue again when a run fails (say, a sandbox killed under it by
    another deployment's reaper on the same dockerd); each failure is kept in `lost`."""
    for attempt in range(tries):
        try:
            return run_once(stack, repo, title if attempt == 0 else f"{title} (again)")
        except RunFailed as exc:
            lost.append(str(exc))
            print(f"pipeline bench: {str(exc).splitlines()[0]}; on a new issue", file=sys.stderr)
    raise BenchError(f"{tries} runs in a row failed; the last:\n{lost[-1]}")


def floor_once(
    stack: Stack, repo: Repo, docker: Any, work: Path, index: int, worktree: bool = True
) -> Floor:
    """The same work done bare: clone over HTTP, one container, push one commit over HTTP.
    Without `worktree` the clone writes no files (the bot never does: its run clone is bare
    and the tree goes into a tmpfs volume); the commit then starts from an index of HEAD."""
    clone = work / f"floor-{repo.name}-{index}"
    began = time.perf_counter()
    options = [] if worktree else ["--no-checkout"]
    git("clone", "--quiet", *options, stack.git_url(repo.full_name, TOKEN), str(clone))
    clone_s = time.perf_counter() - began

    began = time.perf_counter()
    container = docker.containers.create(
        sandbox_image(), command=["sleep", "infinity"], network_mode="none", detach=True
    )
    try:
        container.start()
    finally:
        removing = time.perf_counter()
        container.remove(force=True)
    container_s = time.perf_counter() - began
    remove_s = time.perf_counter() - removing

    began = time.perf_counter()
    if not worktree:
        git("read-tree", "HEAD", cwd=clone)
    (clone / "greeter").mkdir(exist_ok=True)
    (clone / "greeter" / "greet.py").write_text(GREET)
    git("add", "greeter/greet.py", cwd=clone)
    git("commit", "--quiet", "-m", "Add greet()", cwd=clone)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/floor/{index}", cwd=clone)
    push_s = time.perf_counter() - began
    shutil.rmtree(clone, ignore_errors=True)
    return Floor(clone_s, container_s, push_s, remove_s)


# -- repositories -----------------------------------------------------------------------------


def create_repo(stack: Stack, name: str, files: dict[str, str], work: Path) -> Repo:
    with stack.person(OWNER) as gh:
        gh.post("/user/repos", json={"name": name, "auto_init": True}).raise_for_status()
    clone = work / f"seed-{name}"
    git("clone", "--quiet", stack.git_url(f"{OWNER}/{name}", TOKEN), str(clone))
    for path, content in files.items():
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        (clone / path).write_text(content)
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", "Seed", cwd=clone)
    git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=clone)
    shutil.rmtree(clone, ignore_errors=True)
    return Repo(name)


def big_files(count: int, per_dir: int = 80) -> dict[str, str]:
    """`count` small Python files, `per_dir` to a directory, two levels deep."""
    files = dict(SMALL_REPO)
    for i in range(count - len(files)):
        d = i // per_dir
        path = f"pkg{d // 25:02d}/mod{d:03d}/f{i % per_dir:03d}.py"
        files[path] = f'"""Module {i}."""\n\nVALUE = {i}\n'

    return files


def create_big_repo(stack: Stack, name: str, count: int, work: Path) -> tuple[Repo, str]:
    """One push of the whole tree; if that hangs, the same tree in smaller pushes (and say so)."""
    with stack.person(OWNER) as gh:
        gh.post("/user/repos", json={"name": name, "auto_init": True}).raise_for_status()
    clone = work / f"seed-{name}"
    git("clone", "--quiet", stack.git_url(f"{OWNER}/{name}", TOKEN), str(clone))
    files = big_files(count)
    for path, content in files.items():
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        (clone / path).write_text(content)
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", f"Seed {count} files", cwd=clone)
    began = time.perf_counter()
    try:
        git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=clone, timeout=120)
        how = f"one push of {count} files, {time.perf_counter() - began:.1f} s"
    except subprocess.TimeoutExpired as exc:  # the ghsim bug this guards against
        how = f"one push of {count} files hung ({exc}); seeded in 8 pushes instead"
        git("reset", "--quiet", "--hard", "origin/main", cwd=clone)
        paths = sorted(files)
        step = math.ceil(len(paths) / 8)
        for start in range(0, len(paths), step):
            for path in paths[start : start + step]:
                (clone / path).parent.mkdir(parents=True, exist_ok=True)
                (clone / path).write_text(files[path])
            git("add", "-A", cwd=clone)
            git("commit", "--quiet", "-m", f"Seed part {start // step + 1}", cwd=clone)
            git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=clone, timeout=120)
    shutil.rmtree(clone, ignore_errors=True)
    return Repo(name), how


# -- the table --------------------------------------------------------------------------------


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def row(name: str, values: list[float], scale: float = 1.0) -> str:
    if not values:
        return f"| {name:<44} | {'—':>9} | {'—':>9} |"
    med, top = statistics.median(values) * scale, p90(values) * scale
    return f"| {name:<44} | {med:>9.3f} | {top:>9.3f} |"


def print_table(title: str, runs: list[Run], floors: list[Floor]) -> None:
    print(f"\n{title}")
    print(f"| {'seconds':<44} | {'median':>9} | {'p90':>9} |")
    print(f"|{'-' * 46}|{'-' * 11}|{'-' * 11}|")
    print(row("pipeline total (label → PR listed)", [r.total_s for r in runs]))
    for phase in PHASES:
        values = [r.phases_ms[phase] for r in runs if phase in r.phases_ms]
        if values:
            print(row(f"  {phase}", values, 1 / 1000))
    print(row("  other (webhook, handler, comments)", [r.other_s for r in runs]))
    starts = [r.gaps_s["fetch"] for r in runs if "fetch" in r.gaps_s]
    print(row("    label → run starts fetch (incl. queue)", starts))
    for phase in PHASES[2:]:
        values = [r.gaps_s[phase] for r in runs if phase in r.gaps_s]
        if values:
            print(row(f"    untimed, before {phase}", values))
    seen = [r.pr_seen_after_s for r in runs if r.pr_seen_after_s is not None]
    print(row("    PR listed − worker's PR call returned", seen))
    if floors:
        print(row("floor total", [f.total_s for f in floors]))
        print(row("  git clone over HTTP", [f.clone_s for f in floors]))
        print(row("  container create+start+remove", [f.container_s for f in floors]))
        print(row("    of which remove (force)", [f.remove_s for f in floors]))
        print(row("  commit + push over HTTP", [f.push_s for f in floors]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs on the small repo")
    parser.add_argument("--no-big", action="store_true", help="skip the 20,000-file repository")
    parser.add_argument("--big-files", type=int, default=20_000)
    parser.add_argument("--big-runs", type=int, default=3, help="warm runs on the big repo")
    parser.add_argument(
        "--with-test",
        action="store_true",
        help="give the repo a .github/pilot.yml test command (adds the check phase)",
    )
    args = parser.parse_args()
    try:
        return bench(args)
    except BenchError as exc:
        print(f"pipeline bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pipeline bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


def bench(args: argparse.Namespace) -> int:
    redis = redis_url(BENCH_DB)
    docker = docker_client()
    files = dict(SMALL_REPO)
    if args.with_test:
        files[".github/pilot.yml"] = "test: python3 -m unittest discover -q\n"
    lost: list[str] = []
    print(f"load average at start: {_load()}")
    try:
        with running_stack(redis) as stack:
            work = stack.tmp / "work"
            work.mkdir()
            small = create_repo(stack, "greeter", files, work)
            # Warm-up, not counted: the worker's first job, the mirror's first fetch.
            first = measured_run(stack, small, "Greet people by name (warm-up)", lost)
            floor_once(stack, small, docker, work, 0)
            runs: list[Run] = []
            floors: list[Floor] = []
            # Alternating rounds: a noisy neighbour slows both sides alike, so the ratio holds.
            for i in range(1, args.runs + 1):
                floors.append(floor_once(stack, small, docker, work, i))
                runs.append(measured_run(stack, small, f"Greet people by name ({i})", lost))
            variant = "with a test command" if args.with_test else "no test command"
            print_table(
                f"small repo ({len(files)} files, {variant}): {args.runs} runs, each on a fresh "
                f"issue in the same repo (first run, not counted: {first.total_s:.3f} s)",
                runs,
                floors,
            )
            small_med = statistics.median(r.total_s for r in runs)
            floor_med = statistics.median(f.total_s for f in floors)
            ratio = small_med / floor_med
            print()
            ok = small_med <= TOTAL_TARGET_S
            print(f"median total: {small_med:.3f} s (target <= {TOTAL_TARGET_S:.1f} s) {_ok(ok)}")
            ok = ratio <= FLOOR_RATIO_TARGET
            print(f"pipeline / floor: {ratio:.2f} (target <= {FLOOR_RATIO_TARGET:.1f}) {_ok(ok)}")
            if not args.no_big:
                big_part(args, stack, docker, work, small_med, lost)
    finally:
        docker.close()
    print(f"\nload average at end: {_load()}; runs lost and redone: {len(lost)}")
    return 0


def big_part(
    args: argparse.Namespace,
    stack: Stack,
    docker: Any,
    work: Path,
    small_med: float,
    lost: list[str],
) -> None:
    big, how = create_big_repo(stack, "bigrepo", args.big_files, work)
    cold = measured_run(stack, big, "Greet people by name (big, first)", lost)
    warm: list[Run] = []
    floors: list[Floor] = []
    for i in range(args.big_runs):
        floors.append(floor_once(stack, big, docker, work, 100 + i, worktree=False))
        warm.append(measured_run(stack, big, f"Greet people by name (big, {i + 2})", lost))
    print_table(
        f"big repo ({args.big_files} files; seeded with {how}): first run {cold.total_s:.3f} s "
        f"(cold mirror), then {args.big_runs} warm runs; second run {warm[0].total_s:.3f} s. "
        "Floor clone without a worktree (20k files written to this disk take 10-18 s)",
        warm,
        floors,
    )
    print()
    for name, value in (
        ("big second run / small median", warm[0].total_s / small_med),
        ("big warm median / small median", statistics.median(r.total_s for r in warm) / small_med),
    ):
        ok = value <= BIG_RATIO_TARGET
        print(f"{name}: {value:.2f} (target <= {BIG_RATIO_TARGET:.1f}) {_ok(ok)}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def _ok(ok: bool) -> str:
    return "ok" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
