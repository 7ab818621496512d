"""Issue events: the trigger label asks for a run; closing the issue or taking the label off
stops it; editing its title or body pauses it until a writer approves the new text."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.core.events import Event, Ignore
from bot.core.routing import Router
from bot.core.snapshot import digest
from bot.delivery.context import HandlerContext
from bot.delivery.start_run import RunRequest, event_time, request_run
from bot.delivery.wake import wake_run
from bot.github.api import Repo

router = Router()
log = logging.getLogger("pilot.handlers.issues")


@dataclass(frozen=True)
class StopRun:
    """Stop the run of an issue, if it has one, and tell it why."""

    repo: Repo
    issue: int
    reason: str
    by: str
    key: str
    installation_id: int | None

    @property
    def event(self) -> dict[str, Any]:
        return {"kind": "stop", "reason": self.reason, "by": self.by}


@dataclass(frozen=True)
class Edited:
    """The issue's title or body as an edit left them, for its run to compare with the
    text it works from."""

    repo: Repo
    issue: int
    title: str
    body: str
    by: str
    installation_id: int | None

    @property
    def sha256(self) -> str:
        return digest(self.title, self.body)

    @property
    def key(self) -> str:
        return f"edited:{self.sha256[:16]}"

    @property
    def event(self) -> dict[str, Any]:
        return {"kind": "edited", "title": self.title, "body": self.body, "by": self.by}


def decide_labeled(event: Event, trigger_label: str) -> RunRequest | Ignore:
    payload = event.payload
    label = (payload.get("label") or {}).get("name")
    if label != trigger_label:
        return Ignore(f"label {label!r} is not the trigger")
    if event.sender_is_bot:
        return Ignore("sent by a bot")
    issue = payload.get("issue") or {}
    if issue.get("state") != "open":
        return Ignore("issue is not open")
    if event.repo_full_name is None:
        return Ignore("no repository in the payload")
    return RunRequest(
        repo=Repo.parse(event.repo_full_name),
        number=int(issue["number"]),
        requested_by=event.sender_login,
        installation_id=event.installation_id,
        title=str(issue.get("title") or ""),
        body=str(issue.get("body") or ""),
        # Labelling updates the issue: a replay of this body later still says then.
        asked_at=event_time(issue.get("updated_at")),
    )


@router.register("issues", action="labeled")
async def on_issue_labeled(event: Event, ctx: HandlerContext) -> None:
    """Fires when a label is added to an issue; the trigger label starts a run."""
    decision = decide_labeled(event, ctx.settings.trigger_label)
    if isinstance(decision, Ignore):
        log.debug("ignored", extra={"delivery_id": event.delivery_id, "reason": decision.reason})
        return
    await request_run(ctx, decision, event.delivery_id)


def _stop(event: Event, reason: str, key: str) -> StopRun | Ignore:
    if event.repo_full_name is None:
        return Ignore("no repository in the payload")
    issue = event.payload.get("issue") or {}
    return StopRun(
        repo=Repo.parse(event.repo_full_name),
        issue=int(issue["number"]),
        reason=reason,
        by=event.sender_login,
        key=f"stop:{key}:{event.delivery_id}",
        installation_id=event.installation_id,
    )


def decide_closed(event: Event) -> StopRun | Ignore:
    return _stop(event, "issue closed", "issue_closed")


def decide_unlabeled(event: Event, trigger_label: str) -> StopRun | Ignore:
    label = (event.payload.get("label") or {}).get("name")
    if label != trigger_label:
        return Ignore(f"label {label!r} is not the trigger")
    # The bot takes the label off itself when a run ends; that stops nothing.
    if event.sender_is_bot:
        return Ignore("sent by a bot")
    return _stop(event, "label removed", "label_removed")


async def stop_run(ctx: HandlerContext, decision: StopRun | Ignore, delivery_id: str) -> None:
    if isinstance(decision, Ignore):
        log.debug("ignored", extra={"delivery_id": delivery_id, "reason": decision.reason})
        return
    # The flag stops a working run at its next step; the job ends a resting one.
    await ctx.signals.request_stop(decision.repo.full_name, decision.issue)
    await wake_run(
        ctx, decision.repo, decision.issue, decision.installation_id, decision.event, decision.key
    )


def decide_edited(event: Event) -> Edited | Ignore:
    # Bots' edits count too: the text changed whoever changed it.
    changes = event.payload.get("changes") or {}
    if "title" not in changes and "body" not in changes:
        return Ignore("neither the title nor the body changed")
    if event.repo_full_name is None:
        return Ignore("no repository in the payload")
    issue = event.payload.get("issue") or {}
    return Edited(
        repo=Repo.parse(event.repo_full_name),
        issue=int(issue["number"]),
        title=str(issue.get("title") or ""),
        body=str(issue.get("body") or ""),
        by=event.sender_login,
        installation_id=event.installation_id,
    )


@router.register("issues", action="edited")
async def on_issue_edited(event: Event, ctx: HandlerContext) -> None:
    """Fires when an issue's title or body is edited; its run pauses if the text changed."""
    decision = decide_edited(event)
    if isinstance(decision, Ignore):
        log.debug("ignored", extra={"delivery_id": event.delivery_id, "reason": decision.reason})
        return
    # The flag pauses a working run at its next step; the job asks about the new text.
    await ctx.signals.request_pause(decision.repo.full_name, decision.issue, decision.sha256)
    await wake_run(
        ctx, decision.repo, decision.issue, decision.installation_id, decision.event, decision.key
    )


@router.register("issues", action="closed")
async def on_issue_closed(event: Event, ctx: HandlerContext) -> None:
    """Fires when an issue is closed; its run, if any, stops."""
    await stop_run(ctx, decide_closed(event), event.delivery_id)


@router.register("issues", action="unlabeled")
async def on_issue_unlabeled(event: Event, ctx: HandlerContext) -> None:
    """Fires when a label is taken off an issue; the trigger label's removal stops its run."""
    await stop_run(ctx, decide_unlabeled(event, ctx.settings.trigger_label), event.delivery_id)
