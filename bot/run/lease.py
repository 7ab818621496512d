"""One worker per run: a lease that lives while its holder does, and reclaiming dead ones.

arq marks a job in progress for its whole timeout (hours for a run), so a killed worker's run
would wait that long. The lease expires within seconds of its holder dying; a worker that
finds a run job in progress without a lease hands it back to the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import redis.asyncio as aioredis
from arq.constants import in_progress_key_prefix

LEASE_KEY = "pilot:lease:{}"

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class LeaseHeld(Exception):
    """Another live worker holds this run."""


@asynccontextmanager
async def lease(
    redis: aioredis.Redis, name: str, owner: str, ttl_s: float = 6.0
) -> AsyncIterator[None]:
    key = LEASE_KEY.format(name)
    ttl_ms = int(ttl_s * 1000)
    if not await redis.set(key, owner, nx=True, px=ttl_ms):
        raise LeaseHeld(name)

    async def renew() -> None:
        while True:
            await asyncio.sleep(ttl_s / 3)
            await redis.eval(_RENEW, 1, key, owner, str(ttl_ms))  # type: ignore[misc]

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await redis.eval(_RELEASE, 1, key, owner)  # type: ignore[misc]


async def is_held(redis: aioredis.Redis, name: str) -> bool:
    return bool(await redis.exists(LEASE_KEY.format(name)))


JOB_LEASE_KEY = "pilot:job-lease:{}"


async def note_job_lease(redis: aioredis.Redis, job_id: str, name: str, ttl_s: int) -> None:
    """Which run a job works on, for jobs whose id does not say (a command's comment id)."""
    await redis.set(JOB_LEASE_KEY.format(job_id), name, ex=ttl_s)


async def reclaim_orphans(
    redis: aioredis.Redis,
    in_progress_timeout_s: float,
    lease_name: Callable[[str], str | None],
    job_prefixes: tuple[str, ...] = ("run:",),
    grace_s: float = 3.0,
) -> list[str]:
    """Hands back run jobs marked in progress whose lease has lapsed; returns their ids.

    A job younger than `grace_s` may be starting and not hold its lease yet.
    """
    reclaimed: list[str] = []
    for prefix in job_prefixes:
        async for raw in redis.scan_iter(match=f"{in_progress_key_prefix}{prefix}*", count=500):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            job_id = key.removeprefix(in_progress_key_prefix)
            name = lease_name(job_id)
            if name is None:
                noted = await redis.get(JOB_LEASE_KEY.format(job_id))
                name = noted.decode() if noted else None
            if name is not None and await is_held(redis, name):
                continue
            remaining_ms = await redis.pttl(key)
            age_s = in_progress_timeout_s - remaining_ms / 1000
            if remaining_ms > 0 and age_s < grace_s:
                continue
            await redis.delete(key)
            reclaimed.append(job_id)
    return reclaimed
