from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from arq.constants import in_progress_key_prefix

from bot.run.lease import LEASE_KEY, LeaseHeld, is_held, lease, reclaim_orphans
from bot.run.worker import lease_of_job


async def test_a_lease_is_held_by_one_owner_and_released(redis: aioredis.Redis) -> None:
    async with lease(redis, "o__r__issue-1", "a", ttl_s=1):
        assert await is_held(redis, "o__r__issue-1")
        with pytest.raises(LeaseHeld):
            async with lease(redis, "o__r__issue-1", "b", ttl_s=1):
                pass
        await asyncio.sleep(1.3)  # past the TTL: renewals keep it
        assert await is_held(redis, "o__r__issue-1")
    assert not await is_held(redis, "o__r__issue-1")


async def test_a_lease_not_renewed_lapses(redis: aioredis.Redis) -> None:
    await redis.set(LEASE_KEY.format("x"), "dead-worker", px=200)
    await asyncio.sleep(0.3)
    async with lease(redis, "x", "b"):
        assert (await redis.get(LEASE_KEY.format("x"))).startswith(b"b#")


async def test_release_never_drops_someone_elses_lease(redis: aioredis.Redis) -> None:
    async with lease(redis, "y", "a", ttl_s=5):
        await redis.set(LEASE_KEY.format("y"), "b")
    assert (await redis.get(LEASE_KEY.format("y"))) == b"b"


async def test_orphaned_run_jobs_are_handed_back(redis: aioredis.Redis) -> None:
    timeout = 100.0
    dead = "run:o/r#1"
    young = "run:o/r#2"
    alive = "run:o/r#3"
    await redis.psetex(in_progress_key_prefix + dead, int((timeout - 30) * 1000), b"1")
    await redis.psetex(in_progress_key_prefix + young, int((timeout - 1) * 1000), b"1")
    await redis.psetex(in_progress_key_prefix + alive, int((timeout - 30) * 1000), b"1")
    await redis.set(LEASE_KEY.format(lease_of_job(alive)), "w")
    await redis.psetex(in_progress_key_prefix + "delivery:x", 1000, b"1")

    assert await reclaim_orphans(redis, timeout, lease_of_job) == [dead]
    assert not await redis.exists(in_progress_key_prefix + dead)
    assert await redis.exists(in_progress_key_prefix + young)
    assert await redis.exists(in_progress_key_prefix + alive)
    assert await redis.exists(in_progress_key_prefix + "delivery:x")


def test_job_ids_map_to_their_lease() -> None:
    assert lease_of_job("run:octo/repo#12") == "octo__repo__issue-12"
    assert lease_of_job("run:octo/repo") is None
