"""One worker per run: a fenced lease that lives while its holder does, and reclaiming dead ones.

arq marks a job in progress for its whole timeout (hours for a run), so a killed worker's run
would wait that long. The lease expires within seconds of its holder dying; a worker that
finds a run job in progress without a lease hands it back to the queue.

A holder that cannot renew (Redis paused, the network gone, its own loop stalled) must stop
before another worker may take the run, as client-go's leader election does: it counts its
lease as lost `margin_s` before the key could have expired in Redis, and each acquisition
carries a fencing token (a counter per run) that its writes check first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import redis.asyncio as aioredis
from arq.constants import in_progress_key_prefix

LEASE_KEY = "pilot:lease:{}"
# A dead worker's run waits at most this long; a busy 2-core worker's renewals (every 2.5 s)
# may lag a few seconds without its holder giving up (after 6.7 s without one).
LEASE_TTL_S = 10.0
FENCE_KEY = "pilot:fence:{}"

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


class LeaseLost(Exception):
    """This holder's lease lapsed or passed to another worker: it must write nothing more."""


class Lease:
    """A held lease: its fencing token, and whether it may still be counted on."""

    def __init__(self, redis: aioredis.Redis, name: str, value: str, ttl_s: float) -> None:
        self._redis = redis
        self.name = name
        self.value = value
        self.token = int(value.rsplit("#", 1)[1])
        self.ttl_s = ttl_s
        # Renewals are sent ttl/4 apart; the holder gives up a third of the TTL before the key
        # could expire, so a cancelled step is over before anyone else may start it.
        self.margin_s = ttl_s / 3
        self.lost = asyncio.Event()
        self._deadline = time.monotonic() + ttl_s - self.margin_s

    def _renewed(self, sent_at: float) -> None:
        self._deadline = sent_at + self.ttl_s - self.margin_s

    def seconds_left(self) -> float:
        return self._deadline - time.monotonic()

    async def check(self) -> None:
        """Raises LeaseLost unless this holder still holds the run: before a push or a write
        on GitHub, which nothing else fences."""
        left = self.seconds_left()
        if self.lost.is_set() or left <= 0:
            self.lost.set()
            raise LeaseLost(self.name)
        try:
            current = await asyncio.wait_for(self._redis.get(LEASE_KEY.format(self.name)), left)
        except (TimeoutError, aioredis.RedisError, OSError) as exc:
            self.lost.set()
            raise LeaseLost(self.name) from exc
        if current is None or current.decode() != self.value:
            self.lost.set()
            raise LeaseLost(self.name)

    async def keep(self) -> None:
        """Renews until cancelled; sets `lost` once the lease cannot be counted on."""
        ttl_ms = str(int(self.ttl_s * 1000))
        key = LEASE_KEY.format(self.name)
        while not self.lost.is_set():
            await asyncio.sleep(max(0.0, min(self.ttl_s / 4, self.seconds_left())))
            left = self.seconds_left()
            if left <= 0:
                break
            sent_at = time.monotonic()
            try:
                renew = self._redis.eval(_RENEW, 1, key, self.value, ttl_ms)
                renewed = await asyncio.wait_for(renew, left)  # type: ignore[arg-type]
            except (TimeoutError, aioredis.RedisError, OSError):
                continue  # tried again until the deadline; a blip is not a loss
            if not renewed:
                break  # the key lapsed and someone else's value, or none, is there
            self._renewed(sent_at)
        self.lost.set()


@asynccontextmanager
async def lease(
    redis: aioredis.Redis, name: str, owner: str, ttl_s: float = LEASE_TTL_S
) -> AsyncIterator[Lease]:
    key = LEASE_KEY.format(name)
    token = await redis.incr(FENCE_KEY.format(name))
    value = f"{owner}#{token}"
    if not await redis.set(key, value, nx=True, px=int(ttl_s * 1000)):
        raise LeaseHeld(name)
    held = Lease(redis, name, value, ttl_s)
    task = asyncio.create_task(held.keep())
    try:
        yield held
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        with suppress(aioredis.RedisError, OSError):
            await redis.eval(_RELEASE, 1, key, value)  # type: ignore[misc]


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
