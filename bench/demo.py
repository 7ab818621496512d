"""How long `make demo` takes, from the command to its verdict, split where a person waits.

Runs `bash scripts/demo.sh --exit` (set-up included, as `make demo` does) `--runs` times and
times each from the moment it starts: set-up (packages, services, the sandbox image, the
dependencies), the embedded model (built once into .run/llm when no PILOT_LLM_BASE_URL is set),
start-up (ghsim, web, the model's server), the person's part (push, issue, label, and the
worker's start), and label → verdict. With `--scripted` (the demo's own flag) the
model is the scripted one answering the demo issue's solution: the product's own time with a
model that takes none. Without it the demo uses PILOT_LLM_* or the embedded model,
Qwen2.5-Coder-1.5B or `--model smollm2`. The table ends with how many runs solved the issue
within --goal-s (label to verdict; the issue's goal is 4 of 5 within 3 minutes).

A cold start is this on a machine where set-up has not run (no services, no sandbox image, no
virtual environments): run it first on a fresh clone. Later runs are warm.

    uv run python bench/demo.py [--runs 2] [--scripted | --model qwen|smollm2] [--goal-s 180]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Lines the demo (and its set-up) print, in order; each ends a span of the table.
MARKS = {
    "services": "[setup] ready",
    "model": "starting ghsim",
    "startup": "starting a worker",
    "person": "alice opened issue",
}


@dataclass
class Timed:
    marks: dict[str, float]
    total: float
    verdict: str
    code: int


def run_once(env: dict[str, str], extra: list[str]) -> Timed:
    started = time.monotonic()
    marks: dict[str, float] = {}
    verdict = ""
    proc = subprocess.Popen(
        ["bash", "scripts/demo.sh", "--exit", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        for name, needle in MARKS.items():
            if name not in marks and needle in line:
                marks[name] = time.monotonic() - started
        if line.startswith("Verdict:"):
            verdict = line.strip()
    code = proc.wait()
    return Timed(marks, time.monotonic() - started, verdict, code)


def label_to_verdict(verdict: str) -> float | None:
    found = re.search(r" in (\d+):(\d\d)", verdict)
    return int(found.group(1)) * 60 + int(found.group(2)) if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--scripted", action="store_true", help="use the scripted model")
    parser.add_argument("--model", help="the embedded model (the demo's --model)")
    parser.add_argument("--goal-s", type=float, default=180.0, help="label → verdict goal")
    args = parser.parse_args()
    env = dict(os.environ)
    extra = ["--scripted"] if args.scripted else ["--model", args.model] if args.model else []
    rows = []
    for n in range(1, args.runs + 1):
        timed = run_once(env, extra)
        rows.append((n, timed))
        print(f"run {n}: exit {timed.code}, {timed.total:.1f} s: {timed.verdict}", flush=True)
    model_name = "scripted" if args.scripted else (env.get("PILOT_LLM_MODEL") or "embedded")
    model_name += f" {args.model}" if args.model else ""
    print(f"\n`make demo --exit`, model: {model_name}; seconds")
    head = ["run", "set-up", "local model", "start-up", "push, issue, label", "label → verdict"]
    print("| " + " | ".join([*head, "total"]) + " |")
    print("|---|---|---|---|---|---|---|")
    for n, t in rows:
        at = [0.0, *(t.marks.get(name) for name in MARKS)]
        spans = [
            f"{b - a:.1f}" if a is not None and b is not None else "?"
            for a, b in itertools.pairwise(at)
        ]
        lv = label_to_verdict(t.verdict)
        print(f"| {n} | {' | '.join(spans)} | {lv if lv is not None else '?'} | {t.total:.1f} |")
    solved = [lv for _, t in rows if t.verdict.startswith("Verdict: solved")
              and (lv := label_to_verdict(t.verdict)) is not None]  # fmt: skip
    within = sum(1 for lv in solved if lv <= args.goal_s)
    print(f"\nsolved {len(solved)} / {len(rows)}; within {args.goal_s:g} s: {within} / {len(rows)}")
    return 0 if all(t.code == 0 for _, t in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
