"""Per-issue locks and once-only markers in Redis, for handlers that race or repeat."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import LockNotOwnedError

log = logging.getLogger("pilot.coordination")


class Coordination(Protocol):
    def lock(self, name: str) -> AbstractAsyncContextManager[None]:
        """Held by one handler at a time across workers; raises when it cannot be had."""
        ...

    async def once(self, key: str, token: str, ttl_s: int) -> bool:
        """True the first time `key` is claimed within `ttl_s`, and again for the same
        `token` (a retry of the delivery that claimed it); False for anyone else."""
        ...


class RedisCoordination:
    def __init__(self, redis: aioredis.Redis, lock_timeout_s: float = 60, wait_s: float = 20):
        self._redis = redis
        self._lock_timeout_s = lock_timeout_s
        self._wait_s = wait_s

    @asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        # The lock expires on its own, so a worker killed while holding it blocks nobody long.
        held = self._redis.lock(
            f"pilot:lock:{name}", timeout=self._lock_timeout_s, blocking_timeout=self._wait_s
        )
        try:
            async with held:
                yield
        except LockNotOwnedError:
            # The work outlasted the lock (GitHub's pacing can hold a handler past it); what
            # it did is idempotent, and failing now would only make the queue run it again.
            log.warning("lock expired before its holder let go", extra={"lock": name})

    async def once(self, key: str, token: str, ttl_s: int) -> bool:
        full = f"pilot:once:{key}"
        if await self._redis.set(full, token, nx=True, ex=ttl_s):
            return True
        held = await self._redis.get(full)
        return held is not None and held.decode() == token
