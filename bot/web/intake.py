"""The pure part of the webhook route: what to answer for a delivery, before any I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from bot.core.routing import Subscriptions
from bot.web import signature


@dataclass(frozen=True)
class Verdict:
    status: int
    outcome: str
    event: str | None = None
    action: str | None = None
    enqueue: bool = False


# GitHub's delivery ids are GUIDs. The id is not covered by the signature, and it becomes a
# Redis key and a marker in the bot's comments, so nothing else gets through.
_DELIVERY_ID = re.compile(r"[0-9A-Fa-f-]{1,64}")
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")


def screen(headers: dict[str, str | None], limit: int) -> Verdict | None:
    """What can be refused from the headers alone, before a byte of the body is read."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return Verdict(413, "too_large", headers.get("x-github-event"))
    if not _SIGNATURE.fullmatch(headers.get("x-hub-signature-256") or ""):
        return Verdict(401, "bad_signature")
    event = headers.get("x-github-event")
    delivery_id = headers.get("x-github-delivery") or ""
    if not event or not _DELIVERY_ID.fullmatch(delivery_id):
        return Verdict(400, "missing_headers", event)
    return None


def judge(
    secret: bytes,
    body: bytes,
    headers: dict[str, str | None],
    subscriptions: Subscriptions,
) -> Verdict:
    """The fate of a delivery that passed `screen`, from its bytes (dedupe is the caller's)."""
    if not signature.is_valid(secret, body, headers.get("x-hub-signature-256")):
        return Verdict(401, "bad_signature")
    event = headers.get("x-github-event") or ""
    try:
        payload: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Verdict(400, "bad_json", event)
    if not isinstance(payload, dict):
        return Verdict(400, "bad_json", event)
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    if event == "ping":
        return Verdict(200, "pong", event, action)
    if not subscriptions.subscribes(event, action):
        return Verdict(202, "ignored", event, action)
    return Verdict(202, "enqueued", event, action, enqueue=True)
