"""The pure part of the webhook route: what to answer for a delivery, before any I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from bot import signature
from bot.routing import Router


@dataclass(frozen=True)
class Verdict:
    status: int
    outcome: str
    event: str | None = None
    action: str | None = None
    enqueue: bool = False


def judge(
    secret: bytes,
    body: bytes,
    headers: dict[str, str | None],
    router: Router,
) -> Verdict:
    """Decide a delivery's fate from its bytes and headers (dedupe is left to the caller)."""
    if not signature.is_valid(secret, body, headers.get("x-hub-signature-256")):
        return Verdict(401, "bad_signature")
    event = headers.get("x-github-event")
    if not event or not headers.get("x-github-delivery"):
        return Verdict(400, "missing_headers", event)
    try:
        payload: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Verdict(400, "bad_json", event)
    if not isinstance(payload, dict):
        return Verdict(400, "bad_json", event)
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    if event == "ping":
        return Verdict(200, "pong", event, action)
    if not router.subscribes(event, action):
        return Verdict(202, "ignored", event, action)
    return Verdict(202, "enqueued", event, action, enqueue=True)
