"""Outcome rewards (bot/run/outcomes.py): CI's verdict on each attempt, reviewers' verdicts,
people's commits after the bot's, the merge and the time to it, in the trajectory and counted
for /metrics; driven through `Controller.handle` as in test_run_followup."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.agent.llm import OpenAICompatibleLLM
from bot.dev.scripted_model import ScriptedModel
from bot.github.api import PullCommit, ReviewInfo
from bot.run.outcomes import ci_node, ci_reward, human_commits_reward, people_commits
from bot.run.state import Phase, RunState
from tests.run.test_run_followup import GREET_V2, PR, check_run, fix, harness
from tests.run_fakes import AUTHOR


@dataclass
class Counted:
    """The outcome calls of `RunMetrics`; the rest counts nothing."""

    outcomes: list[tuple[str, str]] = field(default_factory=list)
    merges: list[float] = field(default_factory=list)

    async def outcome(self, what: str, result: str) -> None:
        self.outcomes.append((what, result))

    async def time_to_merge(self, seconds: float) -> None:
        self.merges.append(seconds)

    async def job(self, function: str, result: str) -> None: ...

    async def tokens(self, prompt: int, completion: int) -> None: ...

    async def sandbox_seconds(self, phase: str, seconds: float) -> None: ...

    async def ci_attempt(self) -> None: ...

    async def ci_result(self, result: str, source: str) -> None: ...

    async def label_to_pr(self, seconds: float) -> None: ...


def rewards(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (r["what"], r["node"], r["value"]) for r in records if r.get("kind") == "outcome_reward"
    ]


async def test_a_run_records_its_outcomes_once_from_red_ci_to_the_merge(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, fix(GREET_V2))
    metrics = h.deps.metrics = Counted()
    h.deps.clock = lambda: 1_000_000.0
    first = h.at_await_ci(started_at=1_000_000.0 - 5400)
    h.red(first, "Unit tests", "Lint")

    await h.handle({"kind": "ci", "sha": first})  # red: a fix, ci-1, is pushed
    fixed = h.head()
    assert fixed != first and h.host.state["ci_sha"] == fixed
    await h.handle({"kind": "ci", "sha": fixed})  # no check runs yet: pending, nothing judged
    h.host.check_runs_of[fixed] = [check_run(1, "Unit tests", "success")]
    await h.handle({"kind": "ci", "sha": fixed})
    assert h.host.state["phase"] == "ready"

    h.host.reviews[61] = ReviewInfo(61, "APPROVED", "Nice.", "bob")
    h.host.reviews[62] = ReviewInfo(62, "APPROVED", "", "lint-bot[bot]")
    h.host.reviews[63] = ReviewInfo(63, "COMMENTED", "Hm.", "carol")
    h.host.pull_commits_of = [
        PullCommit(first, AUTHOR[0], AUTHOR[1], False),
        PullCommit(fixed, AUTHOR[0], AUTHOR[1], False),
        PullCommit("c0ffee1", "carol", "carol@example.test", False),
        PullCommit("c0ffee2", "carol", "carol@example.test", True),  # "Update branch"
    ]
    await h.handle({"kind": "pull_closed", "pull": PR, "merged": True})
    await h.handle({"kind": "pull_closed", "pull": PR, "merged": True})  # a replay adds nothing

    assert rewards(h.trajectory()) == [
        ("ci", None, -0.5),
        ("ci", "ci-1", 1.0),
        ("review", None, 1.0),
        ("human_commits", None, -0.3),
        ("merged", None, 1.0),
    ]
    records = [r for r in h.trajectory() if r.get("kind") == "outcome_reward"]
    assert {r["run"] for r in records} == {h.run_id}
    assert records[0]["sha"] == first and records[1]["sha"] == fixed
    assert records[0]["detail"]["names"] == ["Unit tests", "Lint"]
    assert records[3]["detail"] == {"count": 1, "shas": ["c0ffee1"]}
    assert records[4]["detail"] == {"seconds": 5400} and records[4]["at"] == 1_000_000.0
    assert metrics.outcomes == [
        ("ci", "red"),
        ("ci", "green"),
        ("review", "approved"),
        ("human_commits", "some"),
        ("merged", "merged"),
    ]
    assert metrics.merges == [5400.0]


def test_ci_rewards_scale_with_what_fails() -> None:
    assert ci_reward("a", True, [], None).value == 1.0
    assert ci_reward("a", False, [], None).value == -0.25  # red with no name still counts one
    assert ci_reward("a", False, ["x", "y", "z"], None).value == -0.75
    assert ci_reward("a", False, [str(i) for i in range(9)], None).value == -1.0
    assert human_commits_reward(["1"] * 5, None).value == -1.0
    assert human_commits_reward([], None).value == 0.0


def test_the_attempt_ci_judges_is_the_fix_that_pushed_it() -> None:
    state = RunState(7, "alice", Phase.AWAIT_CI)
    state.ci_history = [{"sha": "s0", "failing": 2, "names": []}]
    assert ci_node(state, "s0") is None  # the tree's push
    state.iterations = 1
    state.ci_history.append({"sha": "s1", "failing": 0, "names": []})
    assert ci_node(state, "s1") == "ci-1"


def test_only_commits_after_the_bots_first_are_peoples_work() -> None:
    bot = ("pilot[bot]", "1+pilot[bot]@users.noreply.github.com")
    commits = [
        PullCommit("base-work", "dave", "d@x", False),  # on the branch before the bot
        PullCommit("b1", "", bot[1], False),  # the bot's, matched by its email
        PullCommit("p1", "dave", "d@x", False),
        PullCommit("b2", bot[0], bot[1], False),
        PullCommit("p2", "", "someone@x", False),
    ]
    assert people_commits(commits, bot) == ["p1", "p2"]
    assert people_commits(commits[:1], bot) == []
