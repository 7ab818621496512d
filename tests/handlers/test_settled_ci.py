"""CI news about a sha the run is done with costs no GitHub call, and no job."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.core.ci_index import RedisCiIndex, done_key, settled_shas
from bot.core.settings import Settings
from bot.github.backend import GitHubKitApp
from tests.fake_github import FakeGitHub
from tests.handler_support import deliver, worker_ctx
from tests.handlers.test_handlers_checks import OTHER_CI, check_run, check_suite

REPO = "Codertocat/Hello-World"


@pytest.fixture
def ctx(settings: Settings, github_app: GitHubKitApp, redis: aioredis.Redis) -> dict[str, Any]:
    return worker_ctx(settings, github_app, redis)


def test_settled_shas_are_the_judged_ones() -> None:
    handled = ["ci:abc", "review:1", "ci:def", "ci:abc", "ci:"]
    assert settled_shas(handled) == ["abc", "def"]


async def test_news_of_a_settled_sha_wakes_nothing_and_reads_nothing(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    suite = check_suite()
    sha = suite["check_suite"]["head_sha"]
    await RedisCiIndex(redis).settle(REPO, 7, [sha])
    before = len(fake_github.requests)
    await deliver(ctx, "check_suite", suite)
    await deliver(ctx, "check_run", check_run(slug=OTHER_CI))
    assert ctx["queue"].asked == []
    # The only calls are the App's own login (the handler's "is it ours" check), never the run's.
    assert all(r.url.path == "/api/v3/app" for r in fake_github.requests[before:])


async def test_a_wiped_index_falls_back_to_waking_the_run(
    ctx: dict[str, Any], redis: aioredis.Redis
) -> None:
    suite = check_suite()
    index = RedisCiIndex(redis)
    await index.settle(REPO, 7, [suite["check_suite"]["head_sha"]])
    await redis.delete(done_key(REPO, 7))
    await deliver(ctx, "check_suite", suite)
    assert len(ctx["queue"].asked) == 1


async def test_settle_replaces_the_set_and_another_sha_still_wakes(
    ctx: dict[str, Any], redis: aioredis.Redis
) -> None:
    index = RedisCiIndex(redis)
    await index.settle(REPO, 7, ["old1", "old2"])
    await index.settle(REPO, 7, ["old2"])
    assert not await index.is_settled(REPO, 7, "old1")
    assert await index.is_settled(REPO, 7, "old2")
    assert not await index.is_settled(REPO, 8, "old2")
    await deliver(ctx, "check_run", check_run(slug=OTHER_CI))
    assert len(ctx["queue"].asked) == 1
