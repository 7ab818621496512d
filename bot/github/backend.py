"""The githubkit implementation of `bot.github.api`: the App identity, the installation tokens it
mints, a connection pool shared by its installation clients, and the installation client itself,
composed from the calls of `issue_calls`, `pull_calls` and `ci_calls`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub
from githubkit.cache import BaseCacheStrategy
from githubkit.throttling import BaseThrottler

from bot.github.api import Repo
from bot.github.app_calls import AppCalls
from bot.github.ci_calls import CiCalls
from bot.github.issue_calls import IssueCalls
from bot.github.pull_calls import PullCalls
from bot.github.retry_policy import RetryPolicy
from bot.github.retrying_client import GitHubRetrying, Sleep
from bot.github.shared_token import InstallationTokens, SharedInstallationAuth


@dataclass
class InstallationClient(IssueCalls, PullCalls, CiCalls):
    """`GitHubClient` as one installation: githubkit's client for REST and GraphQL calls, and
    the installation's own tokens for git."""

    gh: GitHub[AppInstallationAuthStrategy]
    tokens: InstallationTokens

    async def push_token(self, repo: Repo) -> str:
        # The installation's one token: the worker, not the sandbox, hands it to git.
        return await self.tokens.current()


class SharedTransport(httpx.AsyncBaseTransport):
    """Lends one connection pool to many short-lived clients.

    githubkit opens and closes an httpx client per request; closing a client closes its
    transport, which would cut every other request in flight on a shared pool.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Left open for the other borrowers; the owner closes `close_pool`."""

    async def close_pool(self) -> None:
        await self._inner.aclose()


@dataclass
class GitHubKitApp(AppCalls):
    """An App identity; installation clients share one connection pool and token cache."""

    app_id: int
    private_key: str
    base_url: str
    transport: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)
    cache_strategy: BaseCacheStrategy | None = None
    # True: 5xx, lost connections and rate limits are tried again, bounded (retry_policy.py);
    # False: every request is tried once (tests that count requests).
    auto_retry: bool | RetryPolicy = True
    # How retries wait, and the wall clock a rate limit's reset is read against.
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], float] = time.time
    # An installation's requests wait for its shared budget (pacing.py); None: unpaced.
    throttler_for: Callable[[int], BaseThrottler] | None = None
    _clients: dict[int, InstallationClient] = field(default_factory=dict)
    _installations: dict[str, int] = field(default_factory=dict)
    _bot_login: str | None = None
    _bot_identity: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self._shared = SharedTransport(self.transport)
        self._as_app = self._github(AppAuthStrategy(self.app_id, self.private_key))

    def _github(
        self,
        auth: AppAuthStrategy | AppInstallationAuthStrategy,
        throttler: BaseThrottler | None = None,
    ) -> GitHubRetrying:
        policy = RetryPolicy() if self.auto_retry is True else self.auto_retry or None
        return GitHubRetrying(
            auth,
            policy=policy,
            sleep=self.sleep,
            clock=self.clock,
            base_url=self.base_url.rstrip("/") + "/",
            async_transport=self._shared,
            cache_strategy=self.cache_strategy,
            throttler=throttler,
            user_agent="issue-pilot",
        )

    async def bot_login(self) -> str:
        if self._bot_login is None:
            data = (await self._as_app.rest.apps.async_get_authenticated()).parsed_data
            if data is None:
                raise RuntimeError("GET /app answered no App")
            self._bot_login = f"{data.slug}[bot]"
        return self._bot_login

    async def bot_identity(self) -> tuple[str, str]:
        if self._bot_identity is None:
            login = await self.bot_login()
            # An App's JWT may only call /app endpoints, so an installation asks for the user.
            gh = (await self._any_installation()).gh
            user = (await gh.rest.users.async_get_by_username(login)).parsed_data
            self._bot_identity = (login, f"{user.id}+{login}@users.noreply.github.com")
        return self._bot_identity

    async def _any_installation(self) -> InstallationClient:
        for client in self._clients.values():
            return client
        resp = await self._as_app.rest.apps.async_list_installations(per_page=1)
        if not resp.parsed_data:
            raise RuntimeError("the App has no installation to look its bot user up with")
        return self.for_installation(resp.parsed_data[0].id)

    async def client(self, repo: Repo, installation_id: int | None) -> InstallationClient:
        if installation_id is None:
            installation_id = await self._installation_of(repo)
        return self.for_installation(installation_id)

    async def _installation_of(self, repo: Repo) -> int:
        # Deliveries to an App always name the installation; repository webhooks do not.
        cached = self._installations.get(repo.full_name)
        if cached is None:
            resp = await self._as_app.rest.apps.async_get_repo_installation(repo.owner, repo.name)
            cached = self._installations[repo.full_name] = resp.parsed_data.id
        return cached

    def for_installation(self, installation_id: int) -> InstallationClient:
        client = self._clients.get(installation_id)
        if client is None:
            tokens = InstallationTokens(self._as_app, installation_id)
            auth = SharedInstallationAuth(self.app_id, self.private_key, tokens)
            throttler = self.throttler_for(installation_id) if self.throttler_for else None
            client = InstallationClient(self._github(auth, throttler), tokens)
            self._clients[installation_id] = client
        return client

    async def aclose(self) -> None:
        await self._shared.close_pool()
