"""A status comment edit GitHub would not take, kept in Redis for the run's next job.

A job that ends while GitHub refuses edits (a 5xx outage, a secondary limit that outlasts the
retries) would otherwise lose the state it saved last: a run that failed would read as still
working, and `/pilot retry` would find nothing to retry. The job leaves the body here, while it
still holds the run's lease; the next job that takes the lease writes it before anything else,
so the order of the run's saves holds. Without Redis (wiped), the status comment shows the
working phase it saved before, with no lease: the reconciler's case.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

log = logging.getLogger("pilot.runs")

OUTBOX_KEY = "pilot:status_outbox:{}"
# As long as a run's inbox: a body nobody wrote for a week belongs to no live run.
OUTBOX_TTL_S = 7 * 24 * 3600


class StatusOutbox:
    def __init__(self, redis: aioredis.Redis, run_id: str) -> None:
        self._redis = redis
        self._key = OUTBOX_KEY.format(run_id)

    async def keep(self, body: str | None) -> None:
        """Keeps `body` for the next job (None: nothing is unwritten); never raises, as the
        job is on its way out with an error of its own."""
        if body is None:
            return
        try:
            await self._redis.set(self._key, body, ex=OUTBOX_TTL_S)
        except aioredis.RedisError:
            log.exception("an unwritten status edit could not be kept", extra={"key": self._key})

    async def deliver(self, write: Callable[[str], Awaitable[None]]) -> bool:
        """Writes a kept body through `write` and forgets it; False when none was kept. What
        `write` raises is raised, with the body still kept."""
        raw = await self._redis.get(self._key)
        if raw is None:
            return False
        await write(raw.decode() if isinstance(raw, bytes) else str(raw))
        await self._redis.delete(self._key)
        return True
