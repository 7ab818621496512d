"""Steered code is held: deciding at a run's start whether its work goes to `refs/pilot/<n>`
instead of its branch, posting the held work's diff for review, and a writer's `approve`
moving exactly the reviewed commit to the branch. The rule is bot/run/hold_rule.py."""

from __future__ import annotations

from typing import Protocol

from bot.core.templates import render
from bot.github.checkout import Checkout
from bot.run.hold_rule import (
    RELEASED,
    approval_problem,
    decide_hold,
    held_ref,
    hold_record,
    shown_sha,
)
from bot.run.kernel import KernelHost, Run
from bot.run.phases.pull_request import PullRequestHost, open_pull
from bot.run.state import Phase, RunState

# GitHub refuses comments over 65,536 characters; the rest of the comment needs some room.
MAX_DIFF_CHARS = 50_000


class HoldHost(KernelHost, Protocol):
    async def issue_author(self) -> str: ...

    async def permission(self, login: str) -> str:
        """The login's role on the repository (collaborator-permission API); "none" for an
        empty login or a stranger."""
        ...


class ReleaseHost(HoldHost, PullRequestHost, Protocol):
    """Approving held work pushes it and opens the pull request."""


async def decide_once(run: Run[HoldHost], state: RunState) -> None:
    """Decides, before anything is pushed, whether this run's work is held; kept in the state,
    so the decision (and a writer's approval of it) stands for the rest of the run."""
    if state.hold is not None:
        return
    people = {await run.host.issue_author(), state.requested_by}
    # The requester's role was asked when they labelled or said `/pilot run`: only a writer
    # gets a run queued, so asking again would spend a request to learn the same.
    roles = {
        login: "write" if login == state.requested_by else await run.host.permission(login)
        for login in sorted(people)
    }
    decision = decide_hold(run.config.hold, roles)
    state.hold = hold_record(decision, state.issue)
    run.record(kind="hold", held=decision.hold, why=decision.why)


async def hold_for_review(run: Run[KernelHost], state: RunState, checkout: Checkout) -> None:
    """Instead of a pull request: the held head's diff, posted on the issue for a writer."""
    assert state.hold is not None and state.branch and state.base_branch
    sha = checkout.head_sha
    text = await checkout.review_text(sha)
    shown = text if len(text) <= MAX_DIFF_CHARS else _cut_at_line(text, MAX_DIFF_CHARS)
    body = render(
        "comments/run_held.md.j2",
        requested_by=state.requested_by,
        why=str(state.hold.get("why") or ""),
        ref=held_ref(state.issue),
        sha=sha,
        branch=state.branch,
        base=state.base_branch,
        text=shown,
        cut=len(shown) < len(text),
        total=len(text),
        shown=len(shown),
        prefix=run.deps.command_prefix,
    )
    # Posted before the state names the sha: a worker that dies between posts nothing twice.
    await run.host.post_once(f"held-{sha}", body)
    state.hold = {**state.hold, "shown": sha}
    state.head_sha = sha
    await run.save(state, Phase.HELD)


async def approve_held(run: Run[ReleaseHost], state: RunState, sender: str, args: str) -> str:
    """A writer's `approve` of held work: the reviewed commit pushed to the branch (never
    forced), the held ref dropped, the pull request opened. Returns the reply to post."""
    problem = approval_problem(state, args)
    if problem is not None:
        await run.save(state, state.phase)
        return problem
    sha = shown_sha(state)
    assert sha is not None and state.hold is not None
    token = await run.host.git_token()
    async with run.checkout(state) as checkout:
        await checkout.publish(sha, token)
        await checkout.drop_held(token)
    state.hold = {**state.hold, "state": RELEASED, "approved_by": sender}
    state.head_sha = sha
    await open_pull(run, state)
    return f"Approved by @{sender}: `{sha[:12]}` is on `{state.branch}`; the pull request is open."


def _cut_at_line(text: str, limit: int) -> str:
    head = text[:limit]
    return head[: head.rfind("\n") + 1] or head
