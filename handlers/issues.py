"""Issue events: the trigger label asks for a run."""

from __future__ import annotations

import logging

from bot.context import HandlerContext
from bot.events import Event, Ignore
from bot.github import Repo
from bot.routing import Router
from bot.start_run import RunRequest, request_run

router = Router()
log = logging.getLogger("pilot.handlers.issues")


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
    )


@router.register("issues", action="labeled")
async def on_issue_labeled(event: Event, ctx: HandlerContext) -> None:
    """Fires when a label is added to an issue; the trigger label starts a run."""
    decision = decide_labeled(event, ctx.settings.trigger_label)
    if isinstance(decision, Ignore):
        log.debug("ignored", extra={"delivery_id": event.delivery_id, "reason": decision.reason})
        return
    await request_run(ctx, decision, event.delivery_id)
