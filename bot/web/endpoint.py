"""POST /webhooks/github as a plain ASGI endpoint.

It is the one hot path of the web app: answering thousands of deliveries a second means
skipping FastAPI's per-request machinery (dependency solving, request objects) and reading
the body straight from `receive`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bot.core.jsonlog import elapsed_ms
from bot.core.routing import Subscriptions
from bot.core.settings import Settings
from bot.metrics.delivery_counts import DeliveryCounts
from bot.web.delivery_queue import DeliveryQueue
from bot.web.intake import Verdict, judge, screen

log = logging.getLogger("pilot.web")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

OUTCOMES = (
    "too_large",
    "bad_signature",
    "missing_headers",
    "bad_json",
    "pong",
    "ignored",
    "enqueued",
    "duplicate",
    "enqueue_failed",
    "slow_body",
    "client_gone",
)
# Prebuilt: the bodies never vary.
_BODIES = {o: b'{"outcome":"%s"}' % o.encode() for o in OUTCOMES}
_WANTED = {b"x-hub-signature-256", b"x-github-event", b"x-github-delivery", b"content-length"}


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    pass


async def _read(receive: Receive, limit: int) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        body += message.get("body", b"")
        if len(body) > limit:
            raise _TooLarge
        if not message.get("more_body", False):
            return bytes(body)


class WebhookEndpoint:
    def __init__(self, settings: Settings, subscriptions: Subscriptions) -> None:
        self._settings = settings
        self._secret = settings.webhook_secret()
        self._subscriptions = subscriptions
        self.counts = DeliveryCounts(OUTCOMES, {*subscriptions.events(), "ping"})
        # Set by the app's lifespan once Redis is connected.
        self.deliveries: DeliveryQueue | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        headers: dict[str, str | None] = {
            k.decode(): v.decode("latin-1") for k, v in scope["headers"] if k in _WANTED
        }
        verdict, body = await self._verdict(headers, receive)
        status, outcome = verdict.status, verdict.outcome
        delivery_id = headers.get("x-github-delivery")
        queue = self.deliveries
        if verdict.enqueue and body is not None and delivery_id and verdict.event:
            try:
                if queue is None:
                    raise RuntimeError("the delivery queue is not connected yet")
                fresh = await queue.enqueue_once(verdict.event, delivery_id, body)
                status, outcome = (202, "enqueued") if fresh else (200, "duplicate")
            except Exception:
                log.exception("enqueue failed", extra={"delivery_id": delivery_id})
                status, outcome = 503, "enqueue_failed"
        log.info(
            "delivery",
            extra={
                "delivery_id": delivery_id,
                "event": verdict.event,
                "action": verdict.action,
                "outcome": outcome,
                "status": status,
                "latency_ms": elapsed_ms(start),
            },
        )
        self.counts.add(outcome, verdict.event)
        if outcome == "client_gone":
            return
        payload = _BODIES[outcome]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _verdict(
        self, headers: dict[str, str | None], receive: Receive
    ) -> tuple[Verdict, bytes | None]:
        settings = self._settings
        early = screen(headers, settings.max_body_bytes)
        if early is not None:
            return early, None
        event = headers.get("x-github-event")
        try:
            async with asyncio.timeout(settings.body_read_timeout_s):
                body = await _read(receive, settings.max_body_bytes)
        except _TooLarge:
            return Verdict(413, "too_large", event), None
        except TimeoutError:
            return Verdict(408, "slow_body", event), None
        except _Gone:
            return Verdict(400, "client_gone", event), None
        return judge(self._secret, body, headers, self._subscriptions), body
