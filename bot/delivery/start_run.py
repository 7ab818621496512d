"""Asking for a run, shared by the label and `/pilot run`: authorize, acknowledge, enqueue."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.core import jobs
from bot.core.snapshot import IssueSnapshot
from bot.delivery.context import HandlerContext
from bot.delivery.permissions import may_steer
from bot.delivery.replies import ReplyClient, deny
from bot.github.api import Reaction, Repo
from bot.github.status_comment import find_status_comment, render_status

log = logging.getLogger("pilot.start_run")


class StartRunClient(ReplyClient, Protocol):
    """The GitHub calls of asking for a run: the sender's role, the eyes on the issue, the
    status comment found, made or updated; and a refusal's reply."""

    async def permission(self, repo: Repo, login: str) -> str: ...

    async def react_to_issue(self, repo: Repo, number: int, content: Reaction) -> None: ...

    async def update_comment(self, repo: Repo, comment_id: int, body: str) -> None: ...


@dataclass(frozen=True)
class RunRequest:
    repo: Repo
    number: int
    requested_by: str
    installation_id: int | None
    # The issue's title and body as the event that asked carries them: what its sender saw.
    title: str | None = None
    body: str | None = None
    # `label` or `command` (`/pilot run`), and when the event says it was made (epoch seconds).
    trigger: str = "label"
    asked_at: float | None = None

    def stub(self) -> dict[str, Any]:
        """A new run's state: who asked, how and, when the event carried it, the text."""
        state: dict[str, Any] = {
            "phase": "queued",
            "requested_by": self.requested_by,
            "issue": self.number,
            "trigger": self.trigger,
        }
        if self.title is not None:
            snapshot = IssueSnapshot.take(self.title, self.body or "")
            state["snapshot"] = snapshot.to_dict()
            state["hidden_ignored"] = snapshot.hidden
        return state


async def request_run(ctx: HandlerContext, request: RunRequest, delivery_id: str) -> bool:
    """True when a run was queued (or already was); False when the sender may not start one."""
    gh: StartRunClient = await ctx.github.client(request.repo, request.installation_id)
    role = await gh.permission(request.repo, request.requested_by)
    if not may_steer(role):
        log.info(
            "run refused",
            extra={"delivery_id": delivery_id, "user": request.requested_by, "role": role},
        )
        await deny(
            ctx,
            gh,
            request.repo,
            request.number,
            request.requested_by,
            delivery_id,
            "start",
        )
        return False
    await gh.react_to_issue(request.repo, request.number, "eyes")
    # The label and `/pilot run` may arrive together: one of them makes the status comment.
    async with ctx.coordination.lock(f"issue:{request.repo.full_name}#{request.number}"):
        queued = await _enqueue_with_status(ctx, gh, request, delivery_id)
    log.info(
        "run requested",
        extra={
            "delivery_id": delivery_id,
            "repo": request.repo.full_name,
            "issue": request.number,
            "new_job": queued,
        },
    )
    return True


async def _enqueue_with_status(
    ctx: HandlerContext, gh: StartRunClient, request: RunRequest, delivery_id: str
) -> bool:
    status = find_status_comment(
        await gh.issue_comments(request.repo, request.number), await ctx.github.bot_login()
    )
    # The comment before the job: a job that started first would find no status comment,
    # make its own, and the run would have two. A run that exists keeps its state: the job
    # reconciles the request with it (bot/run/restart.py). A retried delivery whose first try
    # commented but crashed before queueing finds the comment and queues.
    if status is None:
        body = render_status(f"Queued, asked by @{request.requested_by}.", request.stub())
        await gh.create_comment(request.repo, request.number, body)
    queued = await ctx.jobs.enqueue(
        jobs.START_RUN,
        jobs.run_job_id(request.repo.full_name, request.number),
        jobs.RUN_QUEUE,
        repo=request.repo.full_name,
        issue_number=request.number,
        requested_by=request.requested_by,
        installation_id=request.installation_id,
        delivery_id=delivery_id,
        asked_at=request.asked_at,
    )
    return queued


def event_time(value: object) -> float | None:
    """Epoch seconds of a GitHub timestamp (`2026-12-04T10:00:00Z`), to the end of its second:
    GitHub's payloads say when to the second, the run's record to the millisecond."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() + 0.999
