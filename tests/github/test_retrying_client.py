"""GitHub's failed answers through the real client (githubkit on a fake transport): what is
tried again and after how long, with the waits recorded by a fake sleeper (nothing waits), and
what a request that still fails raises."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from bot.github.api import GitHubApiError, Repo
from bot.github.backend import GitHubKitApp
from bot.github.retry_policy import RetryPolicy
from tests.fake_github import FakeGitHub

REPO = Repo("octo", "cat")
NOW = 1_700_000_000.0
SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
Answer = Callable[[httpx.Request], httpx.Response | None]


class Sleeps:
    """A sleeper that records the waits asked for and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Scripted(FakeGitHub):
    """FakeGitHub whose PATCHes of comments first get the answers given, in order."""

    def __init__(self, *answers: Answer) -> None:
        super().__init__()
        self.answers = list(answers)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH" and self.answers:
            answered = self.answers.pop(0)(request)
            if answered is not None:
                self.requests.append(request)
                return answered
        return super().handle(request)


def status(code: int, message: str, **headers: str) -> Answer:
    return lambda request: httpx.Response(code, json={"message": message}, headers=headers)


def app(
    fake: FakeGitHub, key: str, sleeps: Sleeps, retry: bool | RetryPolicy = True
) -> GitHubKitApp:
    return GitHubKitApp(
        1,
        key,
        "https://github.test/api/v3",
        transport=fake.transport(),
        auto_retry=retry,
        sleep=sleeps,
        clock=lambda: NOW,
    )


async def edit(fake: FakeGitHub, github: GitHubKitApp) -> None:
    """Creates comment and edits it: the edit meets the scripted answers."""
    client = await github.client(REPO, 7)
    comment = await client.create_comment(REPO, 1, "first")
    await client.update_comment(REPO, comment.id, "second")
    assert fake.comment_bodies(1) == ["second"]


def patches(fake: FakeGitHub) -> int:
    return len(fake.calls("PATCH", r"/issues/comments/"))


async def test_a_5xx_is_tried_again_with_growing_waits(app_private_key: str) -> None:
    fake, sleeps = Scripted(status(502, "Server Error"), status(503, "Unavailable")), Sleeps()

    await edit(fake, app(fake, app_private_key, sleeps))

    assert sleeps.waits == [1.0, 2.0]
    assert patches(fake) == 3


async def test_a_5xx_that_lasts_raises_what_failed(app_private_key: str) -> None:
    fake, sleeps = Scripted(*[status(502, "Server Error")] * 10), Sleeps()
    github = app(fake, app_private_key, sleeps)

    with pytest.raises(GitHubApiError) as raised:
        await edit(fake, github)

    assert sleeps.waits == [1.0, 2.0, 4.0, 8.0]  # 15 s, then the run is told
    assert patches(fake) == 5
    error = raised.value
    assert (error.method, error.status, error.message) == ("PATCH", 502, "Server Error")
    assert error.path.startswith("/repos/octo/cat/issues/comments/")
    assert str(error) == f"PATCH {error.path} answered 502: Server Error"
    assert "ghs_" not in repr(error.args)


async def test_retry_after_is_honoured(app_private_key: str) -> None:
    fake, sleeps = Scripted(status(429, "Too many requests", **{"retry-after": "7"})), Sleeps()

    await edit(fake, app(fake, app_private_key, sleeps))

    assert sleeps.waits == [7.0]


async def test_a_secondary_limit_without_a_wait_waits_a_minute_then_longer(
    app_private_key: str,
) -> None:
    fake, sleeps = Scripted(*[status(403, SECONDARY)] * 2), Sleeps()

    await edit(fake, app(fake, app_private_key, sleeps))

    assert sleeps.waits == [60.0, 120.0]


async def test_waits_stop_at_the_bound(app_private_key: str) -> None:
    fake, sleeps = Scripted(*[status(403, SECONDARY)] * 5), Sleeps()

    with pytest.raises(GitHubApiError) as raised:
        await edit(fake, app(fake, app_private_key, sleeps))

    # A third wait (240 s) would pass the 180 s all retries of a request may wait.
    assert sleeps.waits == [60.0, 120.0]
    assert raised.value.status == 403 and "secondary rate limit" in raised.value.message


async def test_a_primary_limit_waits_for_its_reset_when_it_is_near(app_private_key: str) -> None:
    near = status(
        403, "API rate limit exceeded", **{"x-ratelimit-remaining": "0"},
        **{"x-ratelimit-reset": str(int(NOW) + 30)},
    )  # fmt: skip
    fake, sleeps = Scripted(near), Sleeps()

    await edit(fake, app(fake, app_private_key, sleeps))

    assert sleeps.waits == [31.0]


async def test_a_primary_limit_an_hour_away_is_not_waited_for(app_private_key: str) -> None:
    far = status(
        403, "API rate limit exceeded", **{"x-ratelimit-remaining": "0"},
        **{"x-ratelimit-reset": str(int(NOW) + 3000)},
    )  # fmt: skip
    fake, sleeps = Scripted(far), Sleeps()

    with pytest.raises(GitHubApiError) as raised:
        await edit(fake, app(fake, app_private_key, sleeps))

    assert sleeps.waits == [] and raised.value.status == 403


async def test_a_refusal_is_not_tried_again(app_private_key: str) -> None:
    fake, sleeps = Scripted(status(403, "Resource not accessible by integration")), Sleeps()

    with pytest.raises(GitHubApiError) as raised:
        await edit(fake, app(fake, app_private_key, sleeps))

    assert sleeps.waits == [] and patches(fake) == 1
    assert raised.value.message == "Resource not accessible by integration"


async def test_a_validation_failure_says_why(app_private_key: str) -> None:
    def too_long(request: httpx.Request) -> httpx.Response:
        errors = [{"resource": "IssueComment", "code": "custom", "field": "body",
                   "message": "body is too long (maximum is 65536 characters)"}]  # fmt: skip
        return httpx.Response(422, json={"message": "Validation Failed", "errors": errors})

    fake, sleeps = Scripted(too_long), Sleeps()

    with pytest.raises(GitHubApiError) as raised:
        await edit(fake, app(fake, app_private_key, sleeps))

    assert raised.value.message == (
        "Validation Failed: body is too long (maximum is 65536 characters)"
    )


async def test_a_lost_connection_retries_an_edit_but_never_a_new_comment(
    app_private_key: str,
) -> None:
    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection reset", request=request)

    fake, sleeps = Scripted(lost), Sleeps()
    await edit(fake, app(fake, app_private_key, sleeps))
    assert sleeps.waits == [1.0]

    class LostPosts(FakeGitHub):
        def handle(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and "/comments" in request.url.path:
                self.requests.append(request)
                lost(request)
            return super().handle(request)

    posts, sleeps = LostPosts(), Sleeps()
    client = await app(posts, app_private_key, sleeps).client(REPO, 7)
    with pytest.raises(GitHubApiError) as raised:
        await client.create_comment(REPO, 1, "once")
    # It may have been made although no answer came: sent again it could be made twice.
    assert sleeps.waits == [] and len(posts.calls("POST", r"/comments$")) == 1
    assert raised.value.status is None and "ConnectError" in raised.value.message


async def test_a_failed_token_mint_is_the_error_raised(app_private_key: str) -> None:
    fake, sleeps = FakeGitHub(), Sleeps()
    fake.fail("POST", r"/app/installations/(\d+)/access_tokens", times=10)
    client = await app(fake, app_private_key, sleeps).client(REPO, 7)

    with pytest.raises(GitHubApiError) as raised:
        await client.issue_comments(REPO, 1)

    assert raised.value.path == "/app/installations/7/access_tokens"
    assert raised.value.status == 502
    assert sleeps.waits == [1.0, 2.0, 4.0, 8.0]  # the mint's retries, not retried again


async def test_without_auto_retry_each_request_is_tried_once(app_private_key: str) -> None:
    fake, sleeps = Scripted(status(502, "Server Error")), Sleeps()

    with pytest.raises(GitHubApiError):
        await edit(fake, app(fake, app_private_key, sleeps, retry=False))

    assert sleeps.waits == [] and patches(fake) == 1


async def test_a_not_found_still_means_none_to_the_backend(app_private_key: str) -> None:
    fake, sleeps = FakeGitHub(), Sleeps()
    client = await app(fake, app_private_key, sleeps).client(REPO, 7)

    assert await client.permission(REPO, "nobody") == "none"
    assert sleeps.waits == []
