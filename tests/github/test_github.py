from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.github.api import Repo, effective_role
from bot.github.backend import GitHubKitApp, SharedTransport
from tests.fake_github import FakeGitHub


class SlowTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.closed:
            raise httpx.ReadError("pool closed under a request in flight")
        await asyncio.sleep(0.05 if request.url.path == "/slow" else 0)
        if self.closed:
            raise httpx.ReadError("pool closed under a request in flight")
        return httpx.Response(200)

    async def aclose(self) -> None:
        self.closed = True


async def test_short_lived_clients_do_not_close_the_shared_pool() -> None:
    inner = SlowTransport()
    shared = SharedTransport(inner)

    async def one(path: str) -> int:
        # What githubkit does for each request made outside `async with GitHub(...)`.
        async with httpx.AsyncClient(transport=shared) as client:
            return (await client.get(f"http://github.test{path}")).status_code

    assert await asyncio.gather(one("/slow"), one("/fast")) == [200, 200]
    assert not inner.closed
    await shared.close_pool()
    assert inner.closed


async def test_app_closes_its_pool_once_at_shutdown(app_private_key: str) -> None:
    inner = SlowTransport()
    app = GitHubKitApp(1, app_private_key, "https://github.test/api/v3", transport=inner)
    await app.aclose()
    assert inner.closed


async def test_bot_login_comes_from_the_app(
    github_app: GitHubKitApp, fake_github: FakeGitHub
) -> None:
    assert await github_app.bot_login() == "issue-pilot[bot]"
    assert await github_app.bot_login() == "issue-pilot[bot]"
    assert len(fake_github.calls("GET", r"^/api/v3/app$")) == 1


async def test_installation_is_looked_up_once_per_repository(
    github_app: GitHubKitApp, fake_github: FakeGitHub
) -> None:
    repo = Repo("octo", "cat")
    first = await github_app.client(repo, None)
    again = await github_app.client(repo, None)
    assert first is again
    assert len(fake_github.calls("GET", r"/repos/octo/cat/installation")) == 1
    assert await github_app.client(repo, 77) is not first


@pytest.mark.parametrize(
    ("permission", "role_name", "expected"),
    [
        ("write", "maintain", "maintain"),
        ("admin", "admin", "admin"),
        ("write", "write", "write"),
        ("read", "triage", "triage"),
        ("write", "custom-release-manager", "write"),
        ("none", None, "none"),
        (None, None, "none"),
    ],
)
def test_effective_role(permission: str | None, role_name: str | None, expected: str) -> None:
    assert effective_role(permission, role_name) == expected


def test_repo_parse() -> None:
    assert Repo.parse("octo/cat").full_name == "octo/cat"
    with pytest.raises(ValueError):
        Repo.parse("octocat")
