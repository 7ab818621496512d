"""The bot's thrift with GitHub: one installation token, limit answers waited out, writes paced."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from githubkit.cache import MemCacheStrategy

from bot.github.api import GitHubApiError, Repo
from bot.github.backend import GitHubKitApp
from bot.github.pacing import PaceLimits, RedisBuckets, RedisPacer, request_cost
from bot.github.shared_token import still_good
from tests.fake_github import FakeGitHub

SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


async def test_one_token_serves_every_repository_and_rest_alike(
    github_app: GitHubKitApp, fake_github: FakeGitHub
) -> None:
    fake_github.roles["ada"] = "write"
    for name in ("cat", "dog", "cow"):
        gh = await github_app.client(Repo("octo", name), 4242)
        await gh.permission(Repo("octo", name), "ada")
        await gh.push_token(Repo("octo", name))
    assert len(fake_github.calls("POST", r"/access_tokens$")) == 1
    tokens = {r.headers["authorization"] for r in fake_github.calls("GET", r"/permission$")}
    assert tokens == {"token ghs_fake4242"}


async def test_a_token_near_its_expiry_is_minted_again(
    github_app: GitHubKitApp, fake_github: FakeGitHub
) -> None:
    gh = await github_app.client(Repo("octo", "cat"), 4242)
    now = datetime.now(UTC)
    gh.tokens.clock = lambda: now
    await gh.push_token(Repo("octo", "cat"))
    gh.tokens.clock = lambda: now + timedelta(minutes=50)
    await gh.push_token(Repo("octo", "dog"))
    assert len(fake_github.calls("POST", r"/access_tokens$")) == 1
    gh.tokens.clock = lambda: now + timedelta(minutes=56)
    await gh.push_token(Repo("octo", "cat"))
    assert len(fake_github.calls("POST", r"/access_tokens$")) == 2
    assert still_good(now + timedelta(hours=1), now + timedelta(minutes=54))
    assert not still_good(now + timedelta(hours=1), now + timedelta(minutes=55))


class Limited(httpx.AsyncBaseTransport):
    """GitHub's limit answers first (403 secondary, then 429 secondary), then the fake."""

    def __init__(self, fake: FakeGitHub, answers: list[httpx.Response]) -> None:
        self.fake = fake
        self.answers = answers
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.url.path)
        if "comments" in request.url.path and self.answers:
            return self.answers.pop(0)
        return self.fake.handle(request)


def limit_answer(status: int, retry_after: str | None, remaining: str = "4000") -> httpx.Response:
    headers = {
        "x-ratelimit-remaining": remaining,
        "x-ratelimit-reset": str(int(time.time()) + 3000),
    }
    if retry_after is not None:
        headers["retry-after"] = retry_after
    message = SECONDARY if retry_after else "API rate limit exceeded for installation ID 4242."
    return httpx.Response(status, json={"message": message}, headers=headers)


async def test_secondary_limit_answers_are_waited_out_and_retried(
    app_private_key: str, fake_github: FakeGitHub
) -> None:
    transport = Limited(fake_github, [limit_answer(403, "1"), limit_answer(429, "1")])
    app = GitHubKitApp(
        1, app_private_key, "https://github.test/api/v3", transport=transport,
        cache_strategy=MemCacheStrategy(),
    )  # fmt: skip
    gh = await app.client(Repo("octo", "cat"), 4242)
    began = time.monotonic()
    assert await gh.issue_comments(Repo("octo", "cat"), 1) == []
    assert time.monotonic() - began >= 2.0
    assert [p for p in transport.seen if "comments" in p] == [
        "/api/v3/repos/octo/cat/issues/1/comments"
    ] * 3
    await app.aclose()


async def test_a_spent_primary_budget_is_not_waited_for_an_hour(
    app_private_key: str, fake_github: FakeGitHub
) -> None:
    transport = Limited(fake_github, [limit_answer(403, None, remaining="0")])
    app = GitHubKitApp(
        1, app_private_key, "https://github.test/api/v3", transport=transport,
        cache_strategy=MemCacheStrategy(),
    )  # fmt: skip
    gh = await app.client(Repo("octo", "cat"), 4242)
    with pytest.raises(GitHubApiError) as raised:
        await gh.issue_comments(Repo("octo", "cat"), 1)
    assert raised.value.status == 403
    assert len([p for p in transport.seen if "comments" in p]) == 1
    await app.aclose()


def test_request_costs_are_githubs_points() -> None:
    assert request_cost("GET", "/api/v3/repos/o/r/issues") == (1, False)
    assert request_cost("PATCH", "/api/v3/repos/o/r/issues/comments/1") == (5, False)
    assert request_cost("POST", "/api/v3/repos/o/r/issues/1/comments") == (5, True)
    assert request_cost("POST", "/api/graphql") == (0, False)


async def test_content_bucket_is_shared_by_workers_and_refills(redis: aioredis.Redis) -> None:
    limits = PaceLimits(content_burst=2, content_per_minute=60, points_burst=1000)
    one, other = RedisBuckets(redis, 7, limits), RedisBuckets(redis, 7, limits)
    assert await one.take(5, True) == 0
    assert await other.take(5, True) == 0
    wait = await one.take(5, True)
    assert 0.5 < wait <= 1.0  # 60 a minute: one a second
    # Another installation has its own budget.
    assert await RedisBuckets(redis, 8, limits).take(5, True) == 0
    await asyncio.sleep(wait)
    assert await other.take(5, True) == 0


async def test_points_bucket_paces_reads_and_the_hour_log_caps_content(
    redis: aioredis.Redis,
) -> None:
    points = RedisBuckets(redis, 9, PaceLimits(points_burst=6, points_per_minute=60))
    assert await points.take(5, False) == 0
    assert await points.take(1, False) == 0
    assert 0.5 < await points.take(1, False) <= 1.0
    hourly = RedisBuckets(redis, 10, PaceLimits(content_per_hour=2, points_burst=1000))
    assert await hourly.take(5, True) == 0
    assert await hourly.take(5, True) == 0
    assert await hourly.take(5, True) > 3500
    assert await hourly.take(1, False) == 0  # reads are not content


async def test_the_pacer_holds_a_request_until_its_bucket_has_room(redis: aioredis.Redis) -> None:
    limits = PaceLimits(content_burst=1, content_per_minute=120, points_burst=1000)
    pacer = RedisPacer(RedisBuckets(redis, 11, limits))
    post = httpx.Request("POST", "https://github.test/api/v3/repos/o/r/issues/1/comments")
    began = time.monotonic()
    for _ in range(2):
        async with pacer.async_acquire(post):
            pass
    assert 0.3 < time.monotonic() - began < 2.0  # the second waited half a second
