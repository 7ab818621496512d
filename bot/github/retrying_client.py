"""githubkit's client as the bot uses it: every request tried again as `retry_policy` allows,
and a request that still fails raised as `bot.github.api.GitHubApiError`, so run code can say
what failed without knowing githubkit.

The retries are here, around githubkit's `arequest`, not in githubkit's `auto_retry`: each try
goes through the throttler again (bot/github/pacing.py), and the waits go through `sleep` and
`clock`, which tests replace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from githubkit import GitHub
from githubkit.exception import GraphQLFailed, RequestError, RequestFailed
from githubkit.response import Response
from githubkit.typing import URLTypes

from bot.github.api import GitHubApiError
from bot.github.retry_policy import Answer, RetryPolicy

log = logging.getLogger("pilot.github.retry")

Sleep = Callable[[float], Awaitable[None]]
MESSAGE_CHARS = 500


class GitHubRequestFailed(RequestFailed, GitHubApiError):
    """GitHub's error answer; still githubkit's `RequestFailed` for the backend's own checks
    (a 404 that means "none", a 422 that means "no drafts")."""

    def __init__(self, failed: RequestFailed, method: str, path: str, message: str) -> None:
        RequestFailed.__init__(self, failed.response)
        GitHubApiError.__init__(self, method, path, failed.response.status_code, message)


class GitHubRetrying(GitHub[Any]):
    """A `GitHub` whose requests retry by `policy` (None: each request is tried once)."""

    def __init__(
        self,
        auth: Any,
        *,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        super().__init__(auth, auto_retry=False, **options)
        self.policy = policy
        self.sleep = sleep
        self.clock = clock

    async def arequest(self, method: str, url: URLTypes, **kwargs: Any) -> Response[Any]:
        path = urlsplit(str(url)).path
        retries, waited = 0, 0.0
        while True:
            try:
                return await super().arequest(method, url, **kwargs)
            except RequestFailed as exc:
                answer = Answer(exc.response.status_code, exc.response.headers, _message(exc))
                failure: GitHubApiError = GitHubRequestFailed(exc, method, path, answer.message)
            except RequestError as exc:
                if isinstance(exc.exc, GitHubApiError):
                    # The installation token's own request failed (and was retried) first.
                    raise exc.exc from exc
                answer = Answer(None, {}, _no_answer(exc))
                failure = GitHubApiError(method, path, None, answer.message)
                failure.__cause__ = exc
            wait = None
            if self.policy is not None:
                wait = self.policy.delay(method, answer, retries, waited, self.clock())
            if wait is None:
                raise failure
            log.warning(
                "GitHub request tried again",
                extra={"method": method, "path": path, "status": answer.status, "wait_s": wait},
            )
            await self.sleep(wait)
            retries, waited = retries + 1, waited + wait

    async def async_graphql(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            return await super().async_graphql(query, variables)
        except GraphQLFailed as exc:
            # GitHub answers a failed GraphQL query 200 with `errors`: the query refused.
            errors = "; ".join(e.message for e in exc.response.errors or [])
            raise GitHubApiError("POST", "/graphql", 200, _cut(errors)) from exc


def _message(exc: RequestFailed) -> str:
    """GitHub's `message` (with the reasons of a 422's `errors`), or the status's reason."""
    raw = exc.response.raw_response
    try:
        body = raw.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return raw.reason_phrase or "no message"
    reasons = [
        str(e.get("message") or e.get("code"))
        for e in body.get("errors") or []
        if isinstance(e, dict) and (e.get("message") or e.get("code"))
    ]
    return _cut(": ".join([body["message"], "; ".join(reasons)]) if reasons else body["message"])


def _no_answer(exc: RequestError[Any]) -> str:
    inner = exc.exc
    if isinstance(inner, httpx.TimeoutException):
        return "timed out"
    return _cut(f"{type(inner).__name__}: {inner}" if str(inner) else type(inner).__name__)


def _cut(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"
