"""One installation access token for everything an installation does: git pushes and REST.

GitHub lets an installation token live an hour and reach every repository the App is
installed on; minting one per repository, and githubkit minting its own beside them, cost a
request each. Here the installation's token is minted once, kept until `TOKEN_MARGIN` before
it expires, and handed to git and to githubkit alike (one mint per installation per ~55 min
per worker process).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub, GitHubCore

# Refresh a token this long before GitHub says it expires, so a push that starts just
# before expiry still has time to finish.
TOKEN_MARGIN = timedelta(minutes=5)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def still_good(expires_at: datetime, now: datetime, margin: timedelta = TOKEN_MARGIN) -> bool:
    return now < expires_at - margin


@dataclass
class InstallationTokens:
    """The installation's access token, minted as the App and kept until near expiry."""

    as_app: GitHub[AppAuthStrategy]
    installation_id: int
    clock: Callable[[], datetime] = field(default=_utcnow)
    _token: tuple[str, datetime] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    mints: int = 0

    async def current(self) -> str:
        if self._token is not None and still_good(self._token[1], self.clock()):
            return self._token[0]
        async with self._lock:  # concurrent jobs wait for one mint, not one each
            if self._token is not None and still_good(self._token[1], self.clock()):
                return self._token[0]
            resp = await self.as_app.rest.apps.async_create_installation_access_token(
                self.installation_id
            )
            data = resp.parsed_data
            expires = datetime.fromisoformat(data.expires_at.replace("Z", "+00:00"))
            self._token = (data.token, expires)
            self.mints += 1
            return data.token


class _SharedTokenAuth(httpx.Auth):
    def __init__(self, tokens: InstallationTokens) -> None:
        self.tokens = tokens

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"token {await self.tokens.current()}"
        yield request


class SharedInstallationAuth(AppInstallationAuthStrategy):
    """githubkit's installation strategy, with the token taken from `InstallationTokens`
    instead of a mint and a cache of githubkit's own (a subclass, so typed clients fit)."""

    def __init__(self, app_id: int, private_key: str, tokens: InstallationTokens) -> None:
        super().__init__(app_id, private_key, tokens.installation_id)
        self.tokens = tokens

    def get_auth_flow(self, github: GitHubCore) -> httpx.Auth:  # type: ignore[type-arg]
        return _SharedTokenAuth(self.tokens)
