from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.services import setting, unavailable

pytest_plugins = [
    "tests.fake_github_fixtures",
    "tests.ghsim_support",
    "tests.stack_support",
    "tests.run_fakes",
]

# Tests own database 15 and flush it; the dev Redis keeps other databases untouched. Two suites
# run at once on one machine each need a database of their own (PILOT_TEST_REDIS_DB).
TEST_REDIS_DB = int(setting("PILOT_TEST_REDIS_DB", "15") or "15")


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    base = setting("PILOT_TEST_REDIS_URL", "redis://127.0.0.1:6390/0")
    assert base is not None
    url = base.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}"
    client = aioredis.from_url(url)
    try:
        await client.ping()
    except Exception:
        await client.aclose()
        unavailable(f"Redis at {url}")
    await client.flushdb()
    try:
        yield url
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()
