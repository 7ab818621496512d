"""Which commits a run is done with, in Redis, so CI news about them costs no GitHub call.

A run's state lives in its status comment; reading it to learn that a CI event is stale costs
a request (and a session would cost 4 to 6). The run writes here, after each save, the shas it
has handled (`ci:<sha>` in `handled`): `on_ci` ignores those for good, so a handler or a job
may drop their events unread. Only what the state itself says is settled is written, never a
sha the run might still await, so a late write or a wiped Redis costs a read, never an event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Protocol, cast

import redis.asyncio as aioredis

DONE_KEY = "pilot:ci:done:{}#{}"
# A run resting for weeks keeps its set; an abandoned one loses it (and reads again).
DONE_TTL_S = 30 * 24 * 3600


def done_key(repo_full_name: str, issue: int) -> str:
    return DONE_KEY.format(repo_full_name, issue)


def settled_shas(handled: Iterable[str]) -> list[str]:
    """The shas a run's `handled` list says CI was judged for."""
    return sorted({key[3:] for key in handled if key.startswith("ci:") and len(key) > 3})


class CiIndex(Protocol):
    async def settle(self, repo_full_name: str, issue: int, shas: list[str]) -> None:
        """Record that the run of `issue` is done with exactly these shas."""
        ...

    async def is_settled(self, repo_full_name: str, issue: int, sha: str) -> bool: ...


class RedisCiIndex:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def settle(self, repo_full_name: str, issue: int, shas: list[str]) -> None:
        key = done_key(repo_full_name, issue)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if shas:
                pipe.sadd(key, *shas)
                pipe.expire(key, DONE_TTL_S)
            await pipe.execute()

    async def is_settled(self, repo_full_name: str, issue: int, sha: str) -> bool:
        # redis-py types its sync and async clients' answers as one union.
        found = cast(Awaitable[int], self.redis.sismember(done_key(repo_full_name, issue), sha))
        return bool(await found)
