"""A run's inbox: what came for a run while another job held it, taken in order by the holder.

A job that finds its run held leaves its item here instead of retrying or dropping it; the
holder takes items until the inbox is empty, lets go, and looks once more (an item may have
come between its last look and its release). A job that leaves an item tries the lease after
leaving it, so one of the two always sees it. Items are JSON: kind `start` (a request to run)
or an event for `Controller.handle`.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import redis.asyncio as aioredis

INBOX_KEY = "pilot:inbox:{}"
# An inbox nobody drained for a week belongs to no live run (the reconciler re-derives
# anything that mattered from GitHub).
INBOX_TTL_S = 7 * 24 * 3600


class RunInbox(Protocol):
    async def put(self, run_id: str, item: dict[str, Any]) -> None: ...

    async def take(self, run_id: str) -> dict[str, Any] | None:
        """The oldest item, removed; None when the inbox is empty."""
        ...

    async def put_back(self, run_id: str, item: dict[str, Any]) -> None:
        """Returns a taken item to the front: its work was cut short."""
        ...

    async def size(self, run_id: str) -> int: ...


class RedisRunInbox:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def put(self, run_id: str, item: dict[str, Any]) -> None:
        key = INBOX_KEY.format(run_id)
        await self._redis.rpush(key, json.dumps(item, sort_keys=True))  # type: ignore[misc]
        await self._redis.expire(key, INBOX_TTL_S)

    async def take(self, run_id: str) -> dict[str, Any] | None:
        raw = await self._redis.lpop(INBOX_KEY.format(run_id))  # type: ignore[misc]
        if raw is None:
            return None
        item = json.loads(raw)
        return item if isinstance(item, dict) else None

    async def put_back(self, run_id: str, item: dict[str, Any]) -> None:
        key = INBOX_KEY.format(run_id)
        await self._redis.lpush(key, json.dumps(item, sort_keys=True))  # type: ignore[misc]
        await self._redis.expire(key, INBOX_TTL_S)

    async def size(self, run_id: str) -> int:
        return int(await self._redis.llen(INBOX_KEY.format(run_id)))  # type: ignore[misc]
