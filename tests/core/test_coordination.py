from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.core.coordination import RedisCoordination


async def test_once_is_once_per_key_but_again_for_the_same_token(redis: aioredis.Redis) -> None:
    gate = RedisCoordination(redis)
    assert await gate.once("k", "delivery-1", 60)
    assert await gate.once("k", "delivery-1", 60)  # the same delivery, retried
    assert not await gate.once("k", "delivery-2", 60)
    assert await gate.once("other", "delivery-2", 60)
    assert 0 < await redis.ttl("pilot:once:k") <= 60


async def test_lock_serialises_holders(redis: aioredis.Redis) -> None:
    gate = RedisCoordination(redis)
    inside = 0
    most = 0

    async def hold() -> None:
        nonlocal inside, most
        async with gate.lock("issue:o/r#1"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.02)
            inside -= 1

    await asyncio.gather(*(hold() for _ in range(5)))
    assert most == 1
    assert not await redis.exists("pilot:lock:issue:o/r#1")


async def test_a_lock_that_expired_under_its_holder_is_let_go_quietly(
    redis: aioredis.Redis,
) -> None:
    gate = RedisCoordination(redis, lock_timeout_s=0.1)
    done = False
    async with gate.lock("issue:o/r#2"):
        await asyncio.sleep(0.3)  # longer than the lock lives
        done = True
    assert done and not await redis.exists("pilot:lock:issue:o/r#2")
