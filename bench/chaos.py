"""Runs under random faults: do they all end right, and how soon after each fault do they move?

Starts ghsim, `issue-pilot serve`, `issue-pilot worker` (with a short
`PILOT_RECONCILE_INTERVAL_S`) and a model answering each conversation on its own
(bench/api_cost.py), on a Redis server of the bench's own, so it can be killed and wiped
without touching anyone else's. One repository with a CI that passes; `--runs` issues are
labelled at once. The scenario is label → draft PR → green CI → PR marked ready.

Faults, drawn from `--seed`:
- all along, ghsim drops `--drop` of the webhook deliveries and shuffles the rest in windows
  of `--reorder` (its fault mode, `/api/v3/_ghsim/faults/deliveries`);
- 2 to 6 s after the labels, then every 4 to 12 s while a run is unfinished, one of (dealt
  from a shuffled deck, so a short bench sees each kind): the worker killed with SIGKILL (and
  started again after 0 to 3 s, as a supervisor would), Redis killed with SIGKILL and started
  again empty after 1 to 3 s, or Redis FLUSHALL.

Recovery of a process or Redis fault is the time from the fault to the next change of an
affected run's status comment (a run unfinished at the fault); of a dropped delivery, from its
failed attempt to the first attempt that reached the bot (GitHub's 1 s resolution). A process
that exits by itself is started again and reported. Goal: every run ends right, and each
recovery within one reconcile interval + 10 s.

    uv run python bench/chaos.py [--runs 10] [--seed 1] [--interval 5] [--drop 0.3]
                                 [--reorder 5] [--timeout 600]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api_cost import ConversationModel, open_issue
from bench.pipeline import OWNER, SMALL_REPO, Repo, create_repo
from bench.stack import BenchError, Stack, docker_client, free_port, running_stack, wait_until
from bot.github.status_comment import parse_state

WORKFLOW = """\
name: CI
on: push
jobs:
  test:
    name: Greets
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python3 -c 'import greeter.greet'
"""
DONE = "ready"
GOAL_SLACK_S = 10.0
KINDS = ("worker kill", "Redis restart", "Redis FLUSHALL")
# Seconds between two faults (the first comes 2 to 6 s after the labels).
FAULT_GAP_S = (4.0, 12.0)


# -- the bench's own Redis ----------------------------------------------------------------------


class OwnRedis:
    """A redis-server on a free port, no persistence: a restart loses everything, as a
    wiped or replaced Redis does."""

    def __init__(self, tmp: Path) -> None:
        if shutil.which("redis-server") is None:
            raise BenchError("redis-server is not installed (`bash scripts/setup.sh` installs it)")
        self.dir = tmp
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = open(tmp / "redis.log", "ab")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=self.log,
            stderr=self.log,
        )  # fmt: skip
        wait_until(self._answers, 10, "the bench's redis-server")

    def _answers(self) -> bool:
        import redis

        try:
            client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def flushall(self) -> None:
        import redis

        client = redis.Redis(port=self.port)
        try:
            client.flushall()
        finally:
            client.close()

    def stop(self) -> None:
        self.kill()
        self.log.close()


# -- what the bench sees ------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    at: float  # monotonic
    affected: set[int]
    recovered_at: float | None = None


@dataclass
class Watch:
    """Each run's status comment as last seen, and when it last changed."""

    issues: list[int]
    digest: dict[int, str] = field(default_factory=dict)
    phase: dict[int, str | None] = field(default_factory=dict)
    changes: dict[int, list[float]] = field(default_factory=dict)

    def unfinished(self) -> set[int]:
        return {n for n in self.issues if self.phase.get(n) != DONE}


def status_comments(stack: Stack, repo: Repo) -> dict[int, str]:
    """Issue number → its bot status comment body, in one paged listing of the repository."""
    found: dict[int, str] = {}
    with stack.person(OWNER) as gh:
        page = 1
        while True:
            batch = gh.get(
                f"/repos/{repo.full_name}/issues/comments",
                params={"per_page": 100, "page": page},
            )
            batch.raise_for_status()
            for comment in batch.json():
                body = comment.get("body") or ""
                if comment["user"]["login"].endswith("[bot]") and "pilot:state" in body:
                    number = int(str(comment["issue_url"]).rsplit("/", 1)[1])
                    found.setdefault(number, body)
            if len(batch.json()) < 100:
                return found
            page += 1


def look(stack: Stack, repo: Repo, watch: Watch, faults: list[Fault]) -> None:
    now = time.monotonic()
    for number, body in status_comments(stack, repo).items():
        if number not in watch.issues:
            continue
        digest = hashlib.sha256(body.encode()).hexdigest()
        if watch.digest.get(number) == digest:
            continue
        watch.digest[number] = digest
        state = parse_state(body) or {}
        watch.phase[number] = str(state.get("phase")) if state.get("phase") else None
        watch.changes.setdefault(number, []).append(now)
        for fault in faults:
            if fault.recovered_at is None and number in fault.affected:
                fault.recovered_at = now


# -- faults -------------------------------------------------------------------------------------


def set_delivery_faults(stack: Stack, drop: float, reorder: int, seed: int) -> None:
    with stack.person(OWNER) as gh:
        gh.put(
            "/_ghsim/faults/deliveries",
            json={"drop": drop, "reorder_window": reorder, "reorder_hold_ms": 500, "seed": seed},
        ).raise_for_status()


def clear_faults(stack: Stack) -> None:
    with stack.person(OWNER) as gh:
        gh.delete("/_ghsim/faults").raise_for_status()


def inject(kind: str, stack: Stack, own_redis: OwnRedis, rng: random.Random) -> None:
    if kind == "worker kill":
        stack.procs["worker"].send_signal(signal.SIGKILL)
        stack.procs["worker"].wait()
        time.sleep(rng.uniform(0, 3))
        stack.respawn("worker")
    elif kind == "Redis restart":
        own_redis.kill()
        time.sleep(rng.uniform(1, 3))
        own_redis.start()
    else:
        own_redis.flushall()


def supervise(stack: Stack, restarts: Counter[str]) -> None:
    """A process that exited by itself is started again (systemd's Restart=always)."""
    for name in ("web", "worker"):
        proc = stack.procs[name]
        if proc.poll() is not None:
            restarts[name] += 1
            print(f"  {name} exited with {proc.returncode}; started again", flush=True)
            stack.respawn(name)


# -- dropped deliveries -------------------------------------------------------------------------


def delivery_recoveries(stack: Stack) -> tuple[list[float], int]:
    """Per event whose first attempt failed: seconds to the first attempt that reached the
    bot; and how many events no attempt ever reached."""
    from githubkit import AppAuthStrategy, GitHub

    info = json.loads((stack.tmp / "ghsim" / "app.json").read_text())
    key = (stack.tmp / "ghsim" / "app.pem").read_text()
    app = GitHub(AppAuthStrategy(str(info["app_id"]), key), base_url=f"{stack.api_url}/")
    attempts: dict[str, list[tuple[datetime, bool]]] = {}
    cursor: str | None = None
    while True:
        if cursor is None:
            resp = app.rest.apps.list_webhook_deliveries(per_page=100)
        else:
            resp = app.rest.apps.list_webhook_deliveries(per_page=100, cursor=cursor)
        for d in resp.parsed_data:
            ok = d.status_code is not None and 200 <= d.status_code < 300
            attempts.setdefault(d.guid, []).append((d.delivered_at, ok))
        found = re.search(r'[?&]cursor=([^&>]+)[^>]*>;\s*rel="next"', resp.headers.get("link", ""))
        if not found:
            break
        cursor = found.group(1)
    recoveries: list[float] = []
    lost = 0
    for tries in attempts.values():
        tries.sort()
        if tries[0][1]:
            continue
        reached = [at for at, ok in tries if ok]
        if reached:
            recoveries.append((reached[0] - tries[0][0]).total_seconds())
        else:
            lost += 1
    return recoveries, lost


# -- the end state ------------------------------------------------------------------------------


def wrong_endings(stack: Stack, repo: Repo, issues: list[int]) -> dict[int, str]:
    """Issue → what is wrong with where its run ended (absent when right)."""
    wrong: dict[int, str] = {}
    with stack.person(OWNER) as gh:
        pulls = gh.get(
            f"/repos/{repo.full_name}/pulls", params={"state": "all", "per_page": 100}
        ).json()
        for number in issues:
            comments = gh.get(
                f"/repos/{repo.full_name}/issues/{number}/comments", params={"per_page": 100}
            ).json()
            ours = [c.get("body") or "" for c in comments if c["user"]["login"].endswith("[bot]")]
            states = [s for s in (parse_state(b) for b in ours) if s is not None]
            mine = [p for p in pulls if p["head"]["ref"].startswith(f"pilot/issue-{number}-")]
            problems = []
            if [s.get("phase") for s in states] != [DONE]:
                problems.append(f"status comments in {[s.get('phase') for s in states]}")
            if len(ours) != 1:
                problems.append(f"{len(ours)} bot comments on the issue")
            if len(mine) != 1:
                problems.append(f"{len(mine)} pull requests")
            else:
                pull = mine[0]
                if pull["state"] != "open" or pull["draft"]:
                    problems.append(f"PR #{pull['number']} {pull['state']}, draft={pull['draft']}")
                on_pull = [
                    c.get("body") or ""
                    for c in gh.get(
                        f"/repos/{repo.full_name}/issues/{pull['number']}/comments",
                        params={"per_page": 100},
                    ).json()
                    if c["user"]["login"].endswith("[bot]")
                ]
                if sum(1 for b in on_pull if "ready for review" in b) != 1:
                    problems.append("not one 'ready for review' comment on the PR")
                if any(n > 1 for n in Counter(on_pull).values()):
                    problems.append("a bot comment doubled on the PR")
            if problems:
                wrong[number] = "; ".join(problems)
    return wrong


# -- the bench ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="issues labelled at once")
    parser.add_argument("--seed", type=int, default=1, help="draws the faults and their times")
    parser.add_argument("--interval", type=float, default=5.0, help="PILOT_RECONCILE_INTERVAL_S")
    parser.add_argument("--drop", type=float, default=0.3, help="fraction of deliveries dropped")
    parser.add_argument("--reorder", type=int, default=5, help="deliveries shuffled per window")
    parser.add_argument("--timeout", type=float, default=600.0, help="for all runs to end")
    args = parser.parse_args()
    try:
        return bench(args)
    except BenchError as exc:
        print(f"chaos bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chaos bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


def bench(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    docker_client().close()
    model = ConversationModel().start()
    redis_dir = Path(tempfile.mkdtemp(prefix="pilot-chaos-redis-"))
    own_redis = OwnRedis(redis_dir)
    own_redis.start()
    faults: list[Fault] = []
    restarts: Counter[str] = Counter()
    try:
        env = {"PILOT_RECONCILE_INTERVAL_S": f"{args.interval:g}"}
        with running_stack(own_redis.url, log_level="INFO", llm_url=model.base_url,
                           extra_env=env) as stack:  # fmt: skip
            work = stack.tmp / "work"
            work.mkdir()
            repo = create_repo(stack, "greeter", {**SMALL_REPO, ".github/workflows/ci.yml":
                                                  WORKFLOW}, work)  # fmt: skip
            issues = [
                open_issue(stack, repo, OWNER, f"Greet people ({i})") for i in range(args.runs)
            ]
            watch = Watch(issues)
            set_delivery_faults(stack, args.drop, args.reorder, args.seed)
            began = time.monotonic()
            with stack.person(OWNER) as gh:
                for number in issues:
                    gh.post(
                        f"/repos/{repo.full_name}/issues/{number}/labels",
                        json={"labels": ["pilot"]},
                    ).raise_for_status()
            next_fault = began + rng.uniform(2, 6)
            deck: list[str] = []
            while watch.unfinished():
                if time.monotonic() - began > args.timeout:
                    break
                supervise(stack, restarts)
                try:
                    look(stack, repo, watch, faults)
                except httpx.HTTPError:
                    pass  # ghsim busy for a moment; the next look sees it
                if time.monotonic() >= next_fault and watch.unfinished():
                    if not deck:
                        deck = rng.sample(KINDS, len(KINDS))
                    kind = deck.pop()
                    fault = Fault(kind, time.monotonic(), watch.unfinished())
                    inject(kind, stack, own_redis, rng)
                    faults.append(fault)
                    print(
                        f"  {fault.at - began:6.1f} s: {kind}, {len(fault.affected)} runs "
                        "unfinished",
                        flush=True,
                    )
                    next_fault = time.monotonic() + rng.uniform(*FAULT_GAP_S)
                time.sleep(1.0)
            total_s = time.monotonic() - began
            clear_faults(stack)
            # A late redelivery or a reconciler pass after the end must change nothing.
            time.sleep(2 * args.interval + 2)
            wrong = wrong_endings(stack, repo, issues)
            recoveries, never = delivery_recoveries(stack)
            print_table(args, faults, recoveries, never, wrong, began, total_s, restarts)
            # The stack's temp dir goes with it; its logs are kept next to Redis's.
            for name in ("worker", "web", "ghsim"):
                shutil.copy(stack.tmp / f"{name}.log", redis_dir / f"{name}.log")
            print(f"\nlogs: {redis_dir}")
    finally:
        own_redis.stop()
        model.stop()
    return 0


def print_table(
    args: argparse.Namespace,
    faults: list[Fault],
    recoveries: list[float],
    never: int,
    wrong: dict[int, str],
    began: float,
    total_s: float,
    restarts: Counter[str],
) -> None:
    goal = args.interval + GOAL_SLACK_S
    print(
        f"\nchaos: {args.runs} runs, seed {args.seed}, reconcile interval {args.interval:g} s, "
        f"{args.drop:.0%} of deliveries dropped, the rest shuffled in windows of {args.reorder}; "
        f"{total_s:.0f} s from the labels to the end"
    )
    print(
        f"| {'fault':<24} | {'at (s)':>7} | {'runs hit':>8} | {'recovery (s)':>12} "
        f"| goal ≤ {goal:g} s |"
    )
    print(f"|{'-' * 26}|{'-' * 9}|{'-' * 10}|{'-' * 14}|{'-' * 15}|")
    for fault in faults:
        took = None if fault.recovered_at is None else fault.recovered_at - fault.at
        shown = "never" if took is None else f"{took:.1f}"
        ok = "ok" if took is not None and took <= goal else "MISSED"
        print(
            f"| {fault.kind:<24} | {fault.at - began:>7.1f} | {len(fault.affected):>8} | "
            f"{shown:>12} | {ok:>13} |"
        )
    late = sum(1 for took in recoveries if took > goal)
    if recoveries:
        worst = max(recoveries)
        ok = "ok" if not late and not never else "MISSED"
        med = statistics.median(recoveries)
        name = f"{len(recoveries)} dropped deliveries"
        print(f"| {name:<24} | {'':>7} | {'':>8} | {f'{med:.0f} / {worst:.0f}':>12} | {ok:>13} |")
        print(
            "  (dropped deliveries: median / worst from the failed attempt to one that reached "
            f"the bot; {late} over the goal, as a redelivery dropped again waits another "
            f"interval; {never} never delivered, left to the reconciler)"
        )
    for name, count in restarts.items():
        print(f"  {name} exited by itself {count} time(s) and was started again")
    right = args.runs - len(wrong)
    print(f"\nruns ending correctly: {right}/{args.runs} {'ok' if not wrong else 'MISSED'}")
    for number, what in sorted(wrong.items()):
        print(f"  #{number}: {what}")
    within = not late and all(
        f.recovered_at is not None and f.recovered_at - f.at <= goal for f in faults
    )
    print(
        f"goal: {args.runs}/{args.runs} and recovery within one reconcile interval + "
        f"{GOAL_SLACK_S:g} s: {'ok' if within and not wrong else 'MISSED'}"
    )


if __name__ == "__main__":
    sys.exit(main())
