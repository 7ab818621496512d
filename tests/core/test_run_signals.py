from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.core.signals import (
    STOP_TTL_S,
    MemoryRunSignals,
    RedisRunSignals,
    RunSignals,
    stop_key,
    waiting_key,
)

REPO = "octo/hello"


@pytest.fixture(params=["redis", "memory"])
def signals(request: pytest.FixtureRequest, redis: aioredis.Redis) -> RunSignals:
    if request.param == "memory":
        return MemoryRunSignals()
    return RedisRunSignals(redis)


async def test_a_stop_is_raised_seen_and_cleared(signals: RunSignals) -> None:
    assert not await signals.stop_requested(REPO, 3)
    await signals.request_stop(REPO, 3)
    assert await signals.stop_requested(REPO, 3)
    assert not await signals.stop_requested(REPO, 4)
    assert not await signals.stop_requested("octo/other", 3)
    await signals.clear_stop(REPO, 3)
    await signals.clear_stop(REPO, 3)
    assert not await signals.stop_requested(REPO, 3)


async def test_a_pause_carries_the_edited_text_hash_until_cleared(signals: RunSignals) -> None:
    assert await signals.pause_requested(REPO, 3) is None
    await signals.request_pause(REPO, 3, "aa11")
    await signals.request_pause(REPO, 3, "bb22")
    assert await signals.pause_requested(REPO, 3) == "bb22"
    assert await signals.pause_requested(REPO, 4) is None
    await signals.clear_pause(REPO, 3)
    await signals.clear_pause(REPO, 3)
    assert await signals.pause_requested(REPO, 3) is None


async def test_waiting_is_set_and_unset(signals: RunSignals) -> None:
    assert not await signals.is_waiting(REPO, 3)
    await signals.set_waiting(REPO, 3, True)
    await signals.set_waiting(REPO, 9, True)
    assert await signals.is_waiting(REPO, 3)
    await signals.set_waiting(REPO, 3, False)
    await signals.set_waiting(REPO, 3, False)
    assert not await signals.is_waiting(REPO, 3)
    assert await signals.is_waiting(REPO, 9)


async def test_keys_are_the_documented_ones_and_a_stop_expires(redis: aioredis.Redis) -> None:
    signals = RedisRunSignals(redis)
    await signals.request_stop(REPO, 3)
    await signals.set_waiting(REPO, 5, True)
    assert stop_key(REPO, 3) == "pilot:stop:octo/hello#3"
    assert waiting_key(REPO, 5) == "pilot:waiting:octo/hello#5"
    assert STOP_TTL_S - 5 < await redis.ttl(stop_key(REPO, 3)) <= STOP_TTL_S
    assert await redis.ttl(waiting_key(REPO, 5)) > STOP_TTL_S
