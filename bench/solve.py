"""Small bug-fix tasks solved by ours, mini-swe-agent and aider with the same model, in one run.

Each task of bench/solve_tasks is a little repository with a bug, a failing unit test and an
issue written as a user would. Every system gets every task, one after another (one model
server: never two clients at once), in this order:

- ours: the whole product on ghsim (bench/solve_ours.py): push, issue, label, wait for the run
  to rest, fetch its branch;
- mini: mini-swe-agent with its text-based config (bench/peers/mini.yaml), on a copy of the
  repository;
- aider: aider given every file up front, with `--test-cmd` and `--auto-test`, on a copy.

The model is the one in PILOT_LLM_BASE_URL/PILOT_LLM_MODEL/PILOT_LLM_API_KEY (and the worker's
other PILOT_LLM_* settings) when set, else the embedded one (`--model`, bot/dev/local_model.py)
served here by llama.cpp, restarted before each task (bench/solve_model.py says why). The peers
are installed into .run/peers by scripts/peers.sh when missing.

Solved: the task's original test files, copied back over the result, pass with the task's test
command and run at least as many tests as on the repository as shipped (bench/solve_judge.py).
Gamed: the result passed (or, ours, was marked ready) only with weakened tests; never solved.
Prints a row per task and system as it goes, then the table and, per system, solved / N, the
median wall time and tokens, and how many were gamed. Per-task logs (diff, test output,
trajectory) go to --out.

    uv run python bench/solve.py [--systems ours,mini,aider] [--tasks slug,slug]
                                 [--timeout-s 360] [--model qwen|smollm2] [--out DIR]
                                 [--redis-db 13]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.solve_judge import Result, Task, TaskError, baseline, load_tasks
from bench.solve_model import Endpoint, Model, model_endpoint
from bench.solve_ours import ours_stack, run_ours
from bench.solve_peers import ensure_peers, run_aider, run_mini
from bench.stack import BenchError
from bot.dev.local_model import DEFAULT_MODEL, MODELS

SYSTEMS = ("ours", "mini", "aider")
DEFAULT_TIMEOUT_S = 360.0
BENCH_DB = 13
PeerRunner = Callable[[Task, Endpoint, Path, Path, float, int], Result]
PEERS: dict[str, PeerRunner] = {"mini": run_mini, "aider": run_aider}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="ours,mini,aider")
    parser.add_argument("--tasks", default="", help="task slugs, comma-separated (default all)")
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S, help="per task")
    parser.add_argument("--model", choices=sorted(MODELS), default=DEFAULT_MODEL,
                        help="the embedded model, when PILOT_LLM_BASE_URL is not set")  # fmt: skip
    parser.add_argument("--out", type=Path, help="per-task logs (default: a new temp dir)")
    parser.add_argument("--redis-db", type=int, default=BENCH_DB, help="flushed at start")
    args = parser.parse_args(argv)
    args.systems = _names(args.systems)
    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown or not args.systems:
        parser.error(f"--systems: choose from {', '.join(SYSTEMS)} (got {args.systems})")
    args.systems = [s for s in SYSTEMS if s in args.systems]
    args.tasks = _names(args.tasks)
    return args


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return bench(args)
    except (BenchError, TaskError) as exc:
        print(f"solve bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("solve bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


def bench(args: argparse.Namespace) -> int:
    tasks = load_tasks(args.tasks or None)
    out: Path = args.out or Path(tempfile.mkdtemp(prefix="pilot-solve-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"per-task logs: {out}", flush=True)
    with tempfile.TemporaryDirectory(prefix="solve-baselines-") as tmp:
        baselines = {task.slug: baseline(task, Path(tmp)).ran for task in tasks}
    ensure_peers([s for s in args.systems if s in PEERS])
    results: list[Result] = []
    try:
        with model_endpoint(args.model, out) as model:
            shown = model.endpoint.shown
            print(f"model: {shown}; {len(tasks)} tasks; {args.timeout_s:.0f} s each\n")
            print(header(), flush=True)
            for system in args.systems:
                for result in run_system(system, tasks, model, args, out, baselines):
                    results.append(result)
                    print(row(result), flush=True)
    finally:
        # A bench cut short (Ctrl-C, a stack that died) still reports what it measured.
        if results:
            print("\n" + header())
            for result in sorted(results, key=lambda r: (r.task, SYSTEMS.index(r.system))):
                print(row(result))
            print()
            for line in summary(results, args.systems, len(tasks)):
                print(line)
    return 0


def run_system(
    system: str,
    tasks: list[Task],
    model: Model,
    args: argparse.Namespace,
    out: Path,
    baselines: dict[str, int],
) -> Iterator[Result]:
    """Each task's result as soon as it is judged; the model is fresh for each task."""
    if system == "ours":
        with ours_stack(model.endpoint, args.redis_db, out / "ours") as stack:
            for task in tasks:
                model.fresh()
                log_dir = out / "ours" / task.slug
                ours = partial(run_ours, stack, task, log_dir, args.timeout_s)
                yield _guarded(task, system, partial(ours, baselines[task.slug]))
        return
    runner = PEERS[system]
    with tempfile.TemporaryDirectory(prefix=f"solve-{system}-") as tmp:
        for task in tasks:
            model.fresh()
            log_dir = out / system / task.slug
            peer = partial(runner, task, model.endpoint, Path(tmp), log_dir, args.timeout_s)
            yield _guarded(task, system, partial(peer, baselines[task.slug]))


def _guarded(task: Task, system: str, run: Callable[[], Result]) -> Result:
    """One task's result; a git or HTTP step of the bench that failed on it fails that task
    alone (a BenchError, such as a stack that died or a run that would not stop, ends all)."""
    began = time.monotonic()
    try:
        return run()
    except (TaskError, httpx.HTTPError, OSError) as exc:
        note = f"bench error: {' '.join(str(exc).split())[:200]}"
        return Result(task.slug, system, False, False, time.monotonic() - began, None, note)


def header() -> str:
    return f"| {'task':<20} | {'system':<6} | {'solved':<6} | {'s':>5} | {'tokens':>7} | note\n" + (
        f"|{'-' * 22}|{'-' * 8}|{'-' * 8}|{'-' * 7}|{'-' * 9}|------"
    )


def row(r: Result) -> str:
    solved = "yes" if r.solved else ("GAMED" if r.gamed else "no")
    tokens = f"{r.tokens:,}" if r.tokens is not None else "?"
    return (
        f"| {r.task:<20} | {r.system:<6} | {solved:<6} | {r.seconds:>5.0f} | {tokens:>7} | {r.note}"
    )


def summary(results: list[Result], systems: list[str], n: int) -> list[str]:
    lines = [
        f"| {'system':<6} | {'solved':>7} | {'median s':>8} | {'median tokens':>13} | gamed |",
        f"|{'-' * 8}|{'-' * 9}|{'-' * 10}|{'-' * 15}|-------|",
    ]
    for system in systems:
        mine = [r for r in results if r.system == system]
        solved = sum(r.solved for r in mine)
        seconds = statistics.median(r.seconds for r in mine) if mine else 0.0
        tokens = [r.tokens for r in mine if r.tokens is not None]
        shown = f"{statistics.median(tokens):,.0f}" if tokens else "?"
        gamed = sum(r.gamed for r in mine)
        lines.append(
            f"| {system:<6} | {f'{solved} / {n}':>7} | {seconds:>8.0f} | {shown:>13} | {gamed:>5} |"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
