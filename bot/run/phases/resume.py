"""Work a worker died in the middle of (`state.working`): done again, once, before the run
takes the next event, then on to CI, or a question when it changed nothing."""

from __future__ import annotations

from typing import Protocol

from bot.agent.requirements import Requirement
from bot.run.kernel import Parked, Run
from bot.run.phases.pull_request import await_ci
from bot.run.phases.review import ReviewHost, review_addressed
from bot.run.phases.work import iterate, node_number
from bot.run.state import RunState


class ResumeHost(ReviewHost, Protocol):
    """An interrupted review fix answers the review's comments when it is done."""


async def finish_interrupted(run: Run[ResumeHost], state: RunState) -> None:
    work = state.working or {}
    node = Requirement(
        id=str(work.get("node")),
        title=str(work.get("title")),
        description=str(work.get("description") or ""),
        acceptance=list(work.get("acceptance") or []),
    )
    run.record(kind="resume", node=node.id)
    pushed = await iterate(
        run,
        state,
        node,
        list(work.get("notes") or []),
        str(work.get("park_as") or "ci"),
        work.get("restore_to"),
    )
    if pushed and node.id.startswith("review-") and state.pr_number is not None:
        comments = await run.host.review_comments(state.pr_number, node_number(node.id))
        await review_addressed(run, state, comments)
    elif pushed:
        await await_ci(run, state)
    else:
        await run.ask(
            state,
            node,
            "The interrupted attempt changed nothing.",
            "How should I go on?",
            str(work.get("park_as") or "ci"),
        )
        raise Parked
