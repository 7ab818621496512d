"""Waking a run: an event that may move it on (CI, a review, a closed PR, a stop) becomes an
`advance_run` job on the run queue, once per event."""

from __future__ import annotations

import logging
from typing import Any

from bot.core import jobs
from bot.delivery.context import HandlerContext
from bot.github.api import Repo

log = logging.getLogger("pilot.wake")


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
