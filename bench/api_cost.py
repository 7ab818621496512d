"""What a run costs on GitHub's API, counted by ghsim, under GitHub's default rate limits.

Starts ghsim (its rate limits on, at GitHub's numbers), `issue-pilot serve`, `issue-pilot
worker` and a model (bench/stack.py), then measures, with ghsim's per-credential counter
(`GET /api/v3/_ghsim/usage`), the App installation's REST requests, writes (POST, PATCH, PUT,
DELETE), content-creating requests, GraphQL requests and token mints:

1. label → draft PR, a cold run (the worker's first) and a warm one;
2. one red CI round on a three-job `needs:` workflow (a → b → c, c red): from the PR opened
   to the run marked ready after one fix;
3. 50 runs labelled at once in one installation (five people file and label ten issues each,
   so no person passes GitHub's content limits): limit refusals ghsim sent, limit errors that
   reached a run, PRs opened, total time.

    uv run python bench/api_cost.py [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pipeline import GREET, OWNER, SMALL_REPO, Repo, call, create_repo, status_phase
from bench.stack import BenchError, Stack, docker_client, redis_url, running_stack, wait_until
from bot.dev.scripted_model import ScriptedModel, ScriptState, Step, parse_steps

BENCH_DB = 12
PEOPLE = ("bea", "cy", "dee", "eli", "fay")
# Status edits are coalesced for a few seconds; the last one lands after the run rests.
SETTLE_S = 6.0
BAD_GREET = "def greet(name: str) -> str:\n    return name\n"
WORKFLOW = """name: ci
on: pull_request
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: test -f greeter/greet.py
  unit:
    needs: lint
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python3 -c 'import greeter.greet'
  accept:
    needs: unit
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: grep -q Hello greeter/greet.py
"""
GOALS = {
    "label → PR": (12, 5),
    "one CI round": (25, 10),
}


class ByConversation(ScriptState):
    """Answers each request from its own conversation, so concurrent runs never share a script:
    the planner gets a one-node plan, a developer writes `greeter/greet.py` and then finishes."""

    def __init__(self) -> None:
        super().__init__()
        self.greet = GREET
        self._last: Any = None

    def record(self, body: Any) -> None:
        super().record(body)
        self._last = body

    def next_step(self) -> Step | None:
        # record and next_step run back to back on the server's event loop: `_last` is ours.
        body = self._last if isinstance(self._last, dict) else {}
        offered = {t.get("function", {}).get("name") for t in body.get("tools") or []}
        messages = body.get("messages") or []
        if "submit_plan" in offered:
            step = call(
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
            )
        elif not any(m.get("role") == "tool" for m in messages):
            step = call("write_file", path="greeter/greet.py", content=self.greet)
        else:
            step = call("finish", summary="greet() written.")
        return parse_steps([step])[0]


class ConversationModel(ScriptedModel):
    def __init__(self) -> None:
        super().__init__()
        self.conversation = ByConversation()
        self._state = self.conversation


def usage(stack: Stack) -> dict[str, Any]:
    with stack.person(OWNER) as gh:
        resp = gh.get("/_ghsim/usage")
        resp.raise_for_status()
        return dict(resp.json())


def reset_usage(stack: Stack) -> None:
    with stack.person(OWNER) as gh:
        gh.delete("/_ghsim/usage").raise_for_status()


def installation_id(stack: Stack) -> str:
    return str(json.loads((stack.tmp / "ghsim" / "app.json").read_text())["installation_id"])


def cost(stack: Stack) -> dict[str, Any]:
    """The installation's counts since the last reset, and the App's token mints for it."""
    data = usage(stack)
    key = installation_id(stack)
    counts = data["usage"].get(f"installation:{key}", {})
    return {
        "requests": counts.get("requests", 0),
        "rest": counts.get("rest", 0),
        "graphql": counts.get("graphql", 0),
        "writes": counts.get("writes", 0),
        "content": counts.get("content", 0),
        "refused": counts.get("refused_primary", 0) + counts.get("refused_secondary", 0),
        "mints": data["mints"].get(key, 0),
        "calls": counts.get("calls", {}),
    }


def open_issue(stack: Stack, repo: Repo, login: str, title: str) -> int:
    with stack.person(login) as gh:
        resp = gh.post(
            f"/repos/{repo.full_name}/issues", json={"title": title, "body": "greet(name)"}
        )
        resp.raise_for_status()
        return int(resp.json()["number"])


def label(stack: Stack, repo: Repo, login: str, number: int) -> None:
    with stack.person(login) as gh:
        resp = gh.post(
            f"/repos/{repo.full_name}/issues/{number}/labels", json={"labels": ["pilot"]}
        )
        resp.raise_for_status()


def pulls_by_issue(stack: Stack, repo: Repo) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    with stack.person(OWNER) as gh:
        page = 1
        while True:
            batch = gh.get(
                f"/repos/{repo.full_name}/pulls",
                params={"state": "all", "per_page": 100, "page": page},
            ).json()
            for pull in batch:
                ref = str(pull["head"]["ref"])
                if ref.startswith("pilot/issue-"):
                    found[int(ref.split("-")[1])] = pull
            if len(batch) < 100:
                return found
            page += 1


def wait_phase(stack: Stack, repo: Repo, number: int, phases: Iterable[str], timeout: float) -> str:
    wanted = set(phases)

    def reached() -> str | None:
        stack.check_alive()
        phase = status_phase(stack, repo, number)
        if phase == "failed" and "failed" not in wanted:
            raise BenchError(f"run #{number} failed; worker log:\n{stack.log_tail('worker', 12)}")
        return phase if phase in wanted else None

    return str(wait_until(reached, timeout, f"#{number} to reach {sorted(wanted)}", every=0.25))


def label_to_pr(stack: Stack, repo: Repo, title: str) -> dict[str, Any]:
    number = open_issue(stack, repo, OWNER, title)
    reset_usage(stack)
    label(stack, repo, OWNER, number)
    wait_until(
        lambda: number in pulls_by_issue(stack, repo), 120, f"the PR of #{number}", every=0.2
    )
    wait_phase(stack, repo, number, {"await_ci"}, 60)
    time.sleep(SETTLE_S)
    return cost(stack)


def ci_round(stack: Stack, model: ConversationModel, repo: Repo) -> dict[str, Any]:
    model.conversation.greet = BAD_GREET
    number = open_issue(stack, repo, OWNER, "Greet people (CI round)")
    label(stack, repo, OWNER, number)
    wait_until(
        lambda: number in pulls_by_issue(stack, repo), 120, f"the PR of #{number}", every=0.2
    )
    reset_usage(stack)
    model.conversation.greet = GREET  # the fix after the red round
    wait_phase(stack, repo, number, {"ready", "asked"}, 600)
    time.sleep(SETTLE_S)
    result = cost(stack)
    result["phase"] = status_phase(stack, repo, number)
    return result


def add_collaborators(stack: Stack, repo: Repo) -> None:
    with stack.person(OWNER) as gh:
        for login in PEOPLE:
            gh.put(
                f"/repos/{repo.full_name}/collaborators/{login}", json={"permission": "push"}
            ).raise_for_status()


def fleet(stack: Stack, repo: Repo, runs: int) -> dict[str, Any]:
    add_collaborators(stack, repo)
    filed = [(PEOPLE[i % len(PEOPLE)], i) for i in range(runs)]
    numbers = [(login, open_issue(stack, repo, login, f"Greet people ({i})")) for login, i in filed]
    reset_usage(stack)
    began = time.perf_counter()
    for login, number in numbers:
        label(stack, repo, login, number)
    wanted = {number for _, number in numbers}
    shown = [time.perf_counter()]

    def all_opened() -> bool:
        opened = len(wanted & set(pulls_by_issue(stack, repo)))
        if time.perf_counter() - shown[0] > 15:
            shown[0] = time.perf_counter()
            now = cost(stack)
            print(
                f"  {time.perf_counter() - began:5.0f} s: {opened}/{runs} PRs, "
                f"{now['requests']} requests, ghsim refused {now['refused']}",
                flush=True,
            )
        return opened == len(wanted)

    wait_until(all_opened, 900, f"{runs} PRs", every=1.0)
    total_s = time.perf_counter() - began
    time.sleep(SETTLE_S)
    phases = [status_phase(stack, repo, number) for number in wanted]
    result = cost(stack)
    worker_log = stack.log_tail("worker", 100_000)
    result.update(
        prs=len(wanted & set(pulls_by_issue(stack, repo))),
        failed=sum(1 for p in phases if p == "failed"),
        limit_errors=worker_log.lower().count("rate limit exceeded"),
        total_s=total_s,
    )
    return result


def row(name: str, c: dict[str, Any], goal: tuple[int, int] | None) -> str:
    target = f"≤ {goal[0]} req, ≤ {goal[1]} writes" if goal else ""
    ok = (
        ""
        if goal is None
        else ("ok" if c["requests"] <= goal[0] and c["writes"] <= goal[1] else "MISSED")
    )
    return (
        f"{name:<22}{c['requests']:>9}{c['rest']:>6}{c['graphql']:>9}{c['writes']:>8}"
        f"{c['content']:>9}{c['mints']:>7}{c['refused']:>9}   {target} {ok}"
    )


def print_calls(name: str, calls: dict[str, int]) -> None:
    print(f"\n{name}: calls")
    for path, count in sorted(calls.items(), key=lambda kv: -kv[1]):
        print(f"  {count:>4}  {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs labelled at once")
    parser.add_argument("--calls", action="store_true", help="list each endpoint's count")
    args = parser.parse_args()
    docker_client().close()
    model = ConversationModel().start()
    began = time.perf_counter()
    try:
        with running_stack(redis_url(BENCH_DB), llm_url=model.base_url) as stack:
            work = stack.tmp / "work"
            work.mkdir()
            greeter = create_repo(stack, "greeter", SMALL_REPO, work)
            cold = label_to_pr(stack, greeter, "Greet people (cold)")
            print(row("label → PR (cold)", cold, GOALS["label → PR"]), flush=True)
            warm = label_to_pr(stack, greeter, "Greet people (warm)")
            print(row("label → PR (warm)", warm, GOALS["label → PR"]), flush=True)
            if args.calls:
                print_calls("label → PR (warm)", warm["calls"])
            ci_files = {**SMALL_REPO, ".github/workflows/ci.yml": WORKFLOW}
            ci_repo = create_repo(stack, "greeter-ci", ci_files, work)
            ci = ci_round(stack, model, ci_repo)
            print(row(f"one CI round ({ci['phase']})", ci, GOALS["one CI round"]), flush=True)
            if args.calls:
                print_calls("one CI round", ci["calls"])
            many = fleet(stack, create_repo(stack, "fleet", SMALL_REPO, work), args.runs)
            elapsed_min = (time.perf_counter() - began) / 60
    finally:
        model.stop()
    print("App installation's API use, counted by ghsim (GitHub's default rate limits on)\n")
    print(
        f"{'':<22}{'requests':>9}{'REST':>6}{'GraphQL':>9}{'writes':>8}{'content':>9}"
        f"{'mints':>7}{'refused':>9}   goal"
    )
    print(row("label → PR (cold)", cold, GOALS["label → PR"]))
    print(row("label → PR (warm)", warm, GOALS["label → PR"]))
    print(row(f"one CI round ({ci['phase']})", ci, GOALS["one CI round"]))
    print(row(f"{args.runs} runs at once", many, None))
    print(
        f"\n{args.runs} runs: {many['prs']}/{args.runs} PRs, {many['failed']} failed, "
        f"{many['limit_errors']} limit errors reached a run, ghsim refused {many['refused']}, "
        f"{many['total_s']:.1f} s from the first label to the last PR"
    )
    mints = cold["mints"] + warm["mints"] + ci["mints"] + many["mints"]
    print(
        f"token mints for the installation in {elapsed_min:.1f} min of bench: {mints} "
        "(goal ≤ 1 per 50 min)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
