"""Waking a run: an event that may move it on (CI, a review, a closed PR, a stop) becomes an
`advance_run` job on the run queue, once per event."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from bot import jobs
from bot.context import HandlerContext
from bot.github import Repo

log = logging.getLogger("pilot.wake")

# `bot/run_state.branch_name` always puts a slug after the number.
PILOT_BRANCH = re.compile(r"^pilot/issue-(\d+)-")


def issue_of_branch(branch: object) -> int | None:
    """The issue a pilot branch works on; None for any other branch (or no branch)."""
    if not isinstance(branch, str):
        return None
    match = PILOT_BRANCH.match(branch)
    return int(match.group(1)) if match else None


def issues_of_branches(branches: Iterable[object]) -> tuple[int, ...]:
    """The issues of the pilot branches among `branches`, each once, in order."""
    found = (issue_of_branch(b) for b in branches)
    return tuple(sorted({n for n in found if n is not None}))


async def wake_run(
    ctx: HandlerContext,
    repo: Repo,
    issue: int,
    installation_id: int | None,
    event: dict[str, Any],
    key: str,
) -> bool:
    """Queue `advance_run` for the run of `issue`; False when this event's job already is."""
    queued = await ctx.jobs.enqueue(
        jobs.ADVANCE_RUN,
        jobs.wake_job_id(repo.full_name, issue, key),
        jobs.RUN_QUEUE,
        repo=repo.full_name,
        issue_number=issue,
        installation_id=installation_id,
        event=event,
    )
    log.info(
        "run woken",
        extra={
            "repo": repo.full_name,
            "issue": issue,
            "kind": event.get("kind"),
            "key": key,
            "new_job": queued,
        },
    )
    return queued
