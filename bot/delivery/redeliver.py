"""Deliveries that never reached the bot, asked for again: GitHub does not retry a failed
delivery by itself, so a cron lists the App's recent deliveries and redelivers each event
none of whose attempts succeeded ("Handling failed webhook deliveries" in GitHub's docs)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis

from bot.github.api import HookDelivery

log = logging.getLogger("pilot.redeliver")

TRIES_KEY = "pilot:redelivered"
# An event whose redeliveries keep failing is left after this many (the bot is down, or
# answers it with an error each time): the reconciler still re-derives what it would do.
MAX_TRIES = 8
# The first EAGER_TRIES redeliveries of an event go one a pass; later ones wait 2, 4, 8…
# passes: a lost delivery is back within a pass or two, and an outage of the bot of an hour
# (at the default minute a pass) is still outlasted.
EAGER_TRIES = 3
# Redeliveries are POSTs, which GitHub's secondary limits count: a backlog goes out a few a pass.
PER_PASS = 10


class HookDeliveries(Protocol):
    async def hook_deliveries(self, pages: int = 3) -> list[HookDelivery]: ...

    async def redeliver(self, delivery_id: int) -> None: ...


@dataclass(frozen=True)
class Tries:
    """How often an event was redelivered, and when last (epoch seconds)."""

    count: int = 0
    last_at: float = 0.0

    def encode(self) -> str:
        return f"{self.count}:{self.last_at:.0f}"

    @classmethod
    def decode(cls, raw: object) -> Tries:
        count, _, last_at = _text(raw).partition(":")
        try:
            return cls(int(count), float(last_at or 0))
        except ValueError:
            return cls(MAX_TRIES)


def to_redeliver(
    deliveries: Iterable[HookDelivery], tries: dict[str, Tries], now: float, interval_s: float
) -> list[HookDelivery]:
    """Per event (guid), the newest attempt, when no attempt succeeded, none is still
    pending, fewer than MAX_TRIES redeliveries were asked for and the last one's back-off is
    over; oldest first, at most PER_PASS (pure)."""
    newest: dict[str, HookDelivery] = {}
    settled: set[str] = set()
    for delivery in deliveries:
        if delivery.ok or delivery.pending:
            settled.add(delivery.guid)
        current = newest.get(delivery.guid)
        if current is None or delivery.id > current.id:
            newest[delivery.guid] = delivery

    def due(guid: str) -> bool:
        done = tries.get(guid, Tries())
        if done.count >= MAX_TRIES:
            return False
        passes = 1 if done.count < EAGER_TRIES else 2 ** (done.count - EAGER_TRIES + 1)
        # Half a pass of slack: passes are not exactly `interval_s` apart.
        return now >= done.last_at + (passes - 0.5) * interval_s

    chosen = (d for guid, d in newest.items() if guid not in settled and due(guid))
    # Oldest first: events in the order they happened.
    return sorted(chosen, key=lambda d: d.id)[:PER_PASS]


async def redeliver_failed(
    app: HookDeliveries, redis: aioredis.Redis, interval_s: float
) -> list[str]:
    """Asks GitHub to redeliver what failed; returns the events' guids."""
    raw: dict[Any, Any] = await redis.hgetall(TRIES_KEY)  # type: ignore[misc]
    tries = {_text(k): Tries.decode(v) for k, v in raw.items()}
    now = time.time()
    asked: list[str] = []
    for delivery in to_redeliver(await app.hook_deliveries(), tries, now, interval_s):
        await app.redeliver(delivery.id)
        count = tries.get(delivery.guid, Tries()).count + 1
        await redis.hset(TRIES_KEY, delivery.guid, Tries(count, now).encode())  # type: ignore[misc]
        asked.append(delivery.guid)
    if asked:
        # GitHub keeps deliveries three days; so does this count.
        await redis.expire(TRIES_KEY, 3 * 24 * 3600)
        log.warning("redelivered failed deliveries", extra={"guids": asked})
    return asked


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
