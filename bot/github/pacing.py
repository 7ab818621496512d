"""Requests paced per installation so that all workers together stay under GitHub's
secondary limits, through token buckets in Redis (githubkit's throttler hook).

GitHub, "Rate limits for the REST API" (docs.github.com/en/rest/using-the-rest-api/
rate-limits-for-the-rest-api#about-secondary-rate-limits): at most 900 points a minute for
REST (GET 1 point; POST, PATCH, PUT, DELETE 5), "in general, no more than 80
content-generating requests per minute and no more than 500 per hour", at most 100 concurrent
requests. A bucket of capacity C refilled at r a second lets through at most C + 60 r in any
minute, so the defaults (points 100 + 750/min, content 10 + 70/min) stay under 900 and 80; the
hourly content limit is a sliding log (480 in any hour).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as aioredis
from githubkit.throttling import BaseThrottler

log = logging.getLogger("pilot.github.pacing")

KEY = "pilot:pace:{}:{}"
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# Never sleep longer than this between looks at the buckets: another worker may free room.
MAX_NAP_S = 5.0

# KEYS: points bucket, content bucket, hourly content log. ARGV: points, content (0/1),
# points rate/s, points capacity, content rate/s, content capacity, hourly cap, log member.
# Answers "0" when taken (all at once), else the seconds to wait, as a string (Lua numbers
# would reach Python truncated to integers).
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cost = tonumber(ARGV[1])
local content = ARGV[2] == '1'
local function level(key, rate, cap)
  local v = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(v[1]) or cap
  local at = tonumber(v[2]) or now
  return math.min(cap, tokens + math.max(0, now - at) * rate)
end
local p_rate, p_cap = tonumber(ARGV[3]), tonumber(ARGV[4])
local pt = level(KEYS[1], p_rate, p_cap)
local wait = 0
if pt < cost then wait = (cost - pt) / p_rate end
local ct = 0
if content then
  local c_rate, c_cap = tonumber(ARGV[5]), tonumber(ARGV[6])
  ct = level(KEYS[2], c_rate, c_cap)
  if ct < 1 then wait = math.max(wait, (1 - ct) / c_rate) end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 3600)
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[7]) then
    local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + 3600 - now)
  end
end
if wait > 0 then return tostring(wait) end
redis.call('HSET', KEYS[1], 'tokens', pt - cost, 'at', now)
redis.call('EXPIRE', KEYS[1], 3600)
if content then
  redis.call('HSET', KEYS[2], 'tokens', ct - 1, 'at', now)
  redis.call('EXPIRE', KEYS[2], 3600)
  redis.call('ZADD', KEYS[3], now, ARGV[8])
  redis.call('EXPIRE', KEYS[3], 3700)
end
return '0'
"""


@dataclass(frozen=True)
class PaceLimits:
    points_per_minute: float = 750.0
    points_burst: float = 100.0
    content_per_minute: float = 70.0
    content_burst: float = 10.0
    content_per_hour: int = 480
    # Per worker process and installation; GitHub allows 100 at once for all of them.
    concurrent: int = 20


def request_cost(method: str, path: str) -> tuple[int, bool]:
    """GitHub's points for a REST request and whether it creates content (a POST that is
    not GraphQL); GraphQL has budgets of its own and costs nothing here."""
    if path.rstrip("/").endswith("/graphql"):
        return 0, False
    if method.upper() in READS:
        return 1, False
    return 5, method.upper() == "POST"


class RedisBuckets:
    """One installation's buckets, shared by every worker through Redis."""

    def __init__(self, redis: aioredis.Redis, installation_id: int, limits: PaceLimits) -> None:
        self.redis = redis
        self.limits = limits
        self.keys = [KEY.format(installation_id, part) for part in ("points", "content", "hour")]
        self._take: Any = redis.register_script(TAKE)

    async def take(self, points: int, content: bool) -> float:
        """0 when the request may go now (its tokens taken), else seconds to wait first."""
        lim = self.limits
        args = [
            points, "1" if content else "0",
            lim.points_per_minute / 60, lim.points_burst,
            lim.content_per_minute / 60, lim.content_burst,
            lim.content_per_hour, uuid.uuid4().hex,
        ]  # fmt: skip
        return float(await self._take(keys=self.keys, args=args))


class RedisPacer(BaseThrottler):
    """githubkit's throttler: each request waits for its installation's buckets."""

    def __init__(self, buckets: RedisBuckets) -> None:
        self.buckets = buckets
        self._local = asyncio.Semaphore(buckets.limits.concurrent)

    @contextmanager
    def acquire(self, request: httpx.Request) -> Generator[None, Any, Any]:
        # The bot's clients are async only; a sync call goes unpaced.
        yield

    @asynccontextmanager
    async def async_acquire(self, request: httpx.Request) -> AsyncGenerator[None, Any]:
        points, content = request_cost(request.method, request.url.path)
        while points:
            try:
                wait = await self.buckets.take(points, content)
            except aioredis.RedisError:
                # Pacing is a courtesy: without Redis, GitHub's answer (and the retry) decides.
                log.warning("pacing skipped: Redis did not answer", exc_info=True)
                break
            if wait <= 0:
                break
            await asyncio.sleep(min(wait, MAX_NAP_S))
        async with self._local:
            yield
