from __future__ import annotations

import asyncio

import orjson
import redis.asyncio as aioredis
from arq.connections import ArqRedis

from bot.core import jobs
from bot.web.delivery_queue import DeliveryQueue


async def test_claim_and_job_are_written_together(redis: aioredis.Redis) -> None:
    pool = ArqRedis(connection_pool=redis.connection_pool)
    queue = DeliveryQueue(pool, dedupe_ttl_s=7 * 24 * 3600)
    assert await queue.enqueue_once("issues", "a1", b'{"action": "labeled"}')
    assert not await queue.enqueue_once("issues", "a1", b'{"action": "labeled"}')
    raw = await redis.get("arq:job:delivery:a1")
    # Plain JSON, the body inside it byte for byte as it came.
    assert b'"a":["issues","a1",{"action": "labeled"}]' in raw
    job = orjson.loads(raw)
    assert job["f"] == jobs.PROCESS_DELIVERY
    assert job["a"] == ["issues", "a1", {"action": "labeled"}]
    assert [m.decode() for m in await redis.zrange(jobs.DELIVERY_QUEUE, 0, -1)] == ["delivery:a1"]
    # The job outlives a worker outage as long as the claim would refuse a redelivery.
    assert await redis.pttl("arq:job:delivery:a1") > 6 * 24 * 3600 * 1000
    assert await redis.ttl("pilot:delivery:a1") > 6 * 24 * 3600


async def test_a_finished_job_is_not_queued_again(redis: aioredis.Redis) -> None:
    pool = ArqRedis(connection_pool=redis.connection_pool)
    await redis.set("arq:result:delivery:b2", b"done")
    queue = DeliveryQueue(pool, dedupe_ttl_s=60)
    assert await queue.enqueue_once("issues", "b2", b"{}")
    assert await redis.zcard(jobs.DELIVERY_QUEUE) == 0


async def test_concurrent_deliveries_are_batched(redis: aioredis.Redis) -> None:
    pool = ArqRedis(connection_pool=redis.connection_pool)
    queue = DeliveryQueue(pool, dedupe_ttl_s=60)
    ids = [f"c{i}" for i in range(50)] + ["c1", "c2"]
    results = await asyncio.gather(*(queue.enqueue_once("issues", i, b"{}") for i in ids))
    assert results.count(True) == 50
    assert queue.batches_sent == 1
    assert await redis.zcard(jobs.DELIVERY_QUEUE) == 50


async def test_a_redis_failure_fails_every_waiting_delivery() -> None:
    dead = ArqRedis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    queue = DeliveryQueue(dead, dedupe_ttl_s=60)
    results = await asyncio.gather(
        *(queue.enqueue_once("issues", f"d{i}", b"{}") for i in range(3)),
        return_exceptions=True,
    )
    await dead.aclose()
    assert all(isinstance(r, Exception) for r in results)


async def test_a_flushed_script_cache_is_reloaded(redis: aioredis.Redis) -> None:
    pool = ArqRedis(connection_pool=redis.connection_pool)
    queue = DeliveryQueue(pool, dedupe_ttl_s=60)
    assert await queue.enqueue_once("issues", "e1", b"{}")
    await redis.script_flush()
    assert await queue.enqueue_once("issues", "e2", b"{}")
    assert await redis.zcard(jobs.DELIVERY_QUEUE) == 2


async def test_staged_jobs_never_linger(redis: aioredis.Redis) -> None:
    pool = ArqRedis(connection_pool=redis.connection_pool)
    queue = DeliveryQueue(pool, dedupe_ttl_s=60)
    await asyncio.gather(*(queue.enqueue_once("issues", i, b"{}") for i in ["f1", "f1", "f2"]))
    assert await queue.enqueue_once("issues", "f1", b"{}") is False
    assert [k async for k in redis.scan_iter("pilot:staging:*")] == []


async def test_a_missing_staged_job_claims_nothing(redis: aioredis.Redis) -> None:
    from bot.web.delivery_queue import _CLAIM_AND_ENQUEUE

    script = redis.register_script(_CLAIM_AND_ENQUEUE)
    keys = [
        "pilot:delivery:g1",
        "arq:job:delivery:g1",
        "arq:result:delivery:g1",
        jobs.DELIVERY_QUEUE,
        "pilot:staging:g1",
    ]
    assert await script(keys=keys, args=[60, 60000, 1, "delivery:g1"]) == -1
    assert not await redis.exists("pilot:delivery:g1")
    assert await redis.zcard(jobs.DELIVERY_QUEUE) == 0
