"""Outcome rewards: what became of a run's work once the agent let go of it. CI's verdict on
each attempt, reviewers' verdicts, people's commits on the branch after the bot's, the merge
or the close and the time to it, each kept in the trajectory as an `outcome_reward` record
(which `issue-pilot export-preferences` reads, bot/run/preferences.py) and counted in
/metrics (`pilot_outcomes_total`, `pilot_time_to_merge_seconds`).

Values lie in [-1, 1]: green CI +1, red -0.25 per failing check down to -1; a head that
weakens the tests -1 (its green CI must not read as a success: preferences leave it out); an
approval +1, changes requested -0.5; each commit a person pushed after the bot's -0.3, down to
-1; merged +1, closed unmerged -1.

Approvals do not wake a run (handlers/pull_request.py wakes it only for reviews that ask for
work), so they are read once, when the pull request closes, with every other review that
never woke the run: one list call per run instead of a job per approval, and a verdict is
recorded once whichever way it came.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.github.api import GitHubApiError
from bot.run.kernel import KernelHost, Run
from bot.run.state import RunState

log = logging.getLogger("pilot.outcomes")

KIND = "outcome_reward"
CI_GREEN = 1.0
CI_RED_PER_FAILING = 0.25
REVIEW_VALUES = {"approved": 1.0, "changes_requested": -0.5}
HUMAN_COMMIT = -0.3
MERGED, CLOSED = 1.0, -1.0
TESTS_WEAKENED = -1.0


@dataclass(frozen=True)
class OutcomeReward:
    what: str  # ci, tests, review, human_commits, merged, closed
    result: str  # the /metrics label: green, red, approved, changes_requested, none, some, …
    value: float
    sha: str | None = None
    node: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def record(self, run_id: str, at: float) -> dict[str, Any]:
        """The trajectory record (the shared format of issue 16)."""
        return {
            "kind": KIND,
            "run": run_id,
            "what": self.what,
            "sha": self.sha,
            "node": self.node,
            "value": self.value,
            "detail": self.detail,
            "at": round(at, 3),
        }


def ci_reward(sha: str, green: bool, failing: list[str], node: str | None) -> OutcomeReward:
    if green:
        return OutcomeReward("ci", "green", CI_GREEN, sha, node, {"failing": 0})
    value = -min(1.0, CI_RED_PER_FAILING * max(1, len(failing)))
    return OutcomeReward("ci", "red", value, sha, node, {"failing": len(failing), "names": failing})


def weakened_tests_reward(sha: str, findings: list[str]) -> OutcomeReward:
    """The test guard found `sha` weakening the tests (bot/run/phases/test_guard.py)."""
    return OutcomeReward("tests", "weakened", TESTS_WEAKENED, sha, None, {"findings": findings})


def ci_node(state: RunState, sha: str) -> str | None:
    """The CI fix that pushed `sha`: `ci-<n>` when an earlier verdict of this CI budget was
    red (the fix iterations are numbered by `state.iterations`); None for the first head CI
    judges (the tree's work, or a reviewed change)."""
    earlier = [h for h in state.ci_history if h.get("sha") != sha]
    return f"ci-{state.iterations}" if earlier and state.iterations else None


def review_reward(review: Any, sha: str | None) -> OutcomeReward | None:
    """A reviewer's verdict; None for one that judges nothing (a comment, a dismissed review)."""
    verdict = str(review.state or "").lower()
    if verdict not in REVIEW_VALUES:
        return None
    detail = {"review": review.id, "reviewer": review.author}
    return OutcomeReward("review", verdict, REVIEW_VALUES[verdict], sha, None, detail)


def is_bot(login: str) -> bool:
    return login.endswith("[bot]")


def people_commits(commits: list[Any], bot: tuple[str, str]) -> list[str]:
    """The shas of commits people pushed after the bot's first one; merges of the base (an
    "Update branch") are not work on the change."""
    login, email = bot

    def bots(commit: Any) -> bool:
        return bool(commit.author_login == login or commit.author_email == email)

    first = next((i for i, c in enumerate(commits) if bots(c)), None)
    if first is None:
        return []
    return [c.sha for c in commits[first + 1 :] if not bots(c) and not c.merge]


def human_commits_reward(shas: list[str], head: str | None) -> OutcomeReward:
    value = max(-1.0, HUMAN_COMMIT * len(shas))
    detail = {"count": len(shas), "shas": shas[:20]}
    return OutcomeReward("human_commits", "some" if shas else "none", value, head, None, detail)


def ending_reward(merged: bool, head: str | None, seconds: float) -> OutcomeReward:
    if merged:
        return OutcomeReward("merged", "merged", MERGED, head, None, {"seconds": round(seconds)})
    return OutcomeReward("closed", "closed", CLOSED, head, None, {"seconds": round(seconds)})


class ClosingHost(KernelHost, Protocol):
    async def author(self) -> tuple[str, str]: ...

    async def pull_reviews(self, number: int) -> list[Any]: ...

    async def pull_commits(self, number: int) -> list[Any]: ...


async def record(run: Run[KernelHost], reward: OutcomeReward) -> None:
    """Into the trajectory and /metrics; neither ever fails the run."""
    run.record(**reward.record(run.run_id, run.deps.clock()))
    await run.deps.metrics.outcome(reward.what, reward.result)


async def on_ci_verdict(
    run: Run[KernelHost], state: RunState, sha: str, green: bool, failing: list[str]
) -> None:
    """CI's verdict on one attempt (called by phases/ci.py's `on_ci`, once per sha)."""
    await record(run, ci_reward(sha, green, failing, ci_node(state, sha)))


async def on_review_verdict(run: Run[KernelHost], state: RunState, review: Any) -> None:
    """A review that woke the run; the ones that did not are read when the PR closes."""
    reward = review_reward(review, state.head_sha)
    if reward is not None and not is_bot(str(review.author)):
        await record(run, reward)


async def on_closed(run: Run[ClosingHost], state: RunState, merged: bool) -> None:
    """The pull request's end: the reviews that never woke the run, people's commits after
    the bot's, merged or closed and the time it took. A read GitHub refuses leaves its part
    out: the run's ending does not wait on a reward."""
    assert state.pr_number is not None
    try:
        for review in await run.host.pull_reviews(state.pr_number):
            if f"review:{review.id}" in state.handled or is_bot(str(review.author)):
                continue
            found = review_reward(review, state.head_sha)
            if found is not None:
                await record(run, found)
        shas = people_commits(await run.host.pull_commits(state.pr_number), await run.host.author())
        await record(run, human_commits_reward(shas, state.head_sha))
    except GitHubApiError as exc:
        log.warning("outcome rewards not read", extra={"run": run.run_id, "error": str(exc)})
    seconds = max(0.0, run.deps.clock() - state.started_at)
    await record(run, ending_reward(merged, state.head_sha, seconds))
    if merged:
        await run.deps.metrics.time_to_merge(seconds)
