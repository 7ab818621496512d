"""Reviews: a reviewer's changes worked in one agent pass and each line comment answered; and
the end of a run when its pull request is merged or closed."""

from __future__ import annotations

from typing import Any, Protocol

from bot.agent.requirements import Requirement
from bot.core.hidden import strip_hidden
from bot.core.text import cut
from bot.run import outcomes
from bot.run.kernel import Run
from bot.run.phases.pull_request import await_ci
from bot.run.phases.work import WorkHost, iterate
from bot.run.state import Phase, RunState


class ReviewHost(WorkHost, Protocol):
    async def review(self, number: int, review_id: int) -> Any: ...

    async def review_comments(self, number: int, review_id: int) -> list[Any]: ...

    async def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> None: ...

    async def pull_reviews(self, number: int) -> list[Any]: ...

    async def pull_commits(self, number: int) -> list[Any]: ...


async def on_review(run: Run[ReviewHost], state: RunState, event: dict[str, Any]) -> None:
    review_id = int(event["review_id"])
    key = f"review:{review_id}"
    if key in state.handled or state.pr_number is None or event.get("pull") != state.pr_number:
        return
    if state.phase not in (Phase.AWAIT_CI, Phase.READY, Phase.ASKED):
        return
    review = await run.host.review(state.pr_number, review_id)
    await outcomes.on_review_verdict(run, state, review)
    if not run.config.allows(review.author):
        state.mark_handled(key)
        run.record(kind="ignored", review=review_id, why="reviewer not in allowed_users")
        await run.save(state, state.phase)
        return
    comments = await run.host.review_comments(state.pr_number, review_id)
    # The handler let only a writer's review wake the run; the agent gets what GitHub shows.
    summary = strip_hidden(review.body or "")
    notes = [f"@{review.author} reviewed ({review.state}): {summary.text or '(no summary)'}"]
    state.hidden_ignored += summary.fragments
    for comment in comments:
        said = strip_hidden(comment.body or "")
        state.hidden_ignored += said.fragments
        notes.append(
            f"Line comment {comment.id} on `{comment.path}` line {comment.line}:\n"
            f"```diff\n{cut(comment.diff_hunk, 1500)}\n```\n{said.text}"
        )
    node = Requirement(
        id=f"review-{review_id}",
        title=f"Address @{review.author}'s review",
        description="A reviewer asked for changes; the review and each line comment are in "
        "the notes. Address every one.",
        acceptance=["every review comment is addressed"],
    )
    state.mark_handled(key)
    await run.resume(state)
    if not await iterate(run, state, node, notes, "review"):
        await run.ask(
            state, node, "The review needs no change I can see.", "What should change?", "review"
        )
        return
    await review_addressed(run, state, comments)


async def review_addressed(run: Run[ReviewHost], state: RunState, comments: list[Any]) -> None:
    """Answers each line comment with the commit that addressed it, then awaits CI afresh."""
    assert state.pr_number is not None
    sha = state.head_sha or ""
    for comment in comments:
        await run.host.reply_to_review_comment(state.pr_number, comment.id, f"Addressed in {sha}.")
    state.ci_attempt = 0  # a reviewed change starts a fresh CI budget
    state.ci_history = []
    await await_ci(run, state)


async def on_pull_closed(run: Run[ReviewHost], state: RunState, merged: bool) -> None:
    if state.phase not in (Phase.MERGED, Phase.CLOSED) and state.pr_number is not None:
        await outcomes.on_closed(run, state, merged)
    state.outcome = "success" if merged else "rejected"
    run.record(kind="outcome", outcome=state.outcome, pr=state.pr_number)
    await run.resume(state)
    await run.save(state, Phase.MERGED if merged else Phase.CLOSED)
