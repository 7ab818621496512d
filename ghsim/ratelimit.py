"""GitHub's rate limits on ``/api/`` answers: headers on every answer, refusals as GitHub sends
them, and a count of every credential's calls (``GET /api/v3/_ghsim/usage``).

Budgets are per credential as on GitHub: an installation's (all its tokens together), a
person's (``ghp_sim_<login>``), the App's JWT, an anonymous caller's IP. The rules live in
`rate_rules.py`; this is the adapter. ghsim's own ``/api/v3/_ghsim/`` endpoints (test and
admin hooks, signed log URLs GitHub serves from another host) are neither counted nor limited.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ghsim.auth import INSTALLATION_PREFIX, PERSON_PREFIX, parse_authorization
from ghsim.rate_rules import Budget, RateLimits, Resource, Verdict

PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
_MINT = re.compile(r"^/api/v3/app/installations/(\d+)/access_tokens$")
# Not content: minting tokens, converting a manifest, rendering Markdown.
_NOT_CONTENT = re.compile(r"^/api/v3/(app/installations/\d+/access_tokens|app-manifests/|markdown)")
# Where the request id goes in the ASGI scope's state for the middleware inside this one.
REQUEST_ID_STATE = "github_request_id"
_NUMBER = re.compile(r"/\d+(?=/|$)")
_SHA = re.compile(r"/[0-9a-f]{40}(?=/|$)")


@dataclass(frozen=True)
class Identity:
    key: str
    kind: str
    # What GitHub's primary refusal names: "installation ID 42", "user ID 7", an IP address.
    named: str


@dataclass
class Usage:
    """Calls one credential made, refused ones included."""

    requests: int = 0
    rest: int = 0
    graphql: int = 0
    writes: int = 0
    content: int = 0
    refused_primary: int = 0
    refused_secondary: int = 0
    calls: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k != "calls"}
        return {**data, "calls": dict(self.calls)}


class RateLimiter:
    """Every credential's budget and usage; one per app, kept on ``app.state.rate_limiter``."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self.budgets: dict[str, Budget] = {}
        self.usage: dict[str, Usage] = {}
        self.mints: Counter[str] = Counter()

    def hourly_limit(self, identity: Identity, resource: Resource) -> int:
        if resource == "graphql":
            return self.limits.graphql_per_hour
        return {
            "installation": self.limits.installation_per_hour,
            "user": self.limits.user_per_hour,
            "app": self.limits.app_per_hour,
        }.get(identity.kind, self.limits.anonymous_per_hour)

    def snapshot(self) -> dict[str, Any]:
        return {
            "usage": {key: usage.as_json() for key, usage in self.usage.items()},
            "mints": dict(self.mints),
        }

    def reset_usage(self) -> None:
        self.usage.clear()
        self.mints.clear()


def identify(sim: Any, header: str | None, client: str) -> Identity:
    """Whose budget a request spends, without verifying it (the route answers 401 for that)."""
    token = parse_authorization(header)
    if token is None:
        return Identity(f"anonymous:{client}", "anonymous", client)
    if token.startswith(INSTALLATION_PREFIX):
        found = sim.installation_token(token)
        if found is not None:
            installation = str(found["installation_id"])
            return Identity(
                f"installation:{installation}", "installation", f"installation ID {installation}"
            )
    elif token.startswith(PERSON_PREFIX):
        login = token[len(PERSON_PREFIX) :].lower()
        user = sim.find_user(login)
        named = f"user ID {user['id']}" if user is not None else login
        return Identity(f"user:{login}", "user", named)
    elif token.count(".") == 2:
        return Identity("app", "app", "the App")
    return Identity(f"anonymous:{client}", "anonymous", client)


def _request_id() -> str:
    parts = [
        secrets.token_hex(2),
        secrets.token_hex(2),
        secrets.token_hex(3),
        secrets.token_hex(3),
        secrets.token_hex(4),
    ]
    return ":".join(parts).upper()


def _support(request_id: str) -> str:
    return (
        f"If you reach out to GitHub Support for help, please include the request ID {request_id}."
    )


def secondary_limit_body(request_id: str) -> dict[str, str]:
    """GitHub's answer to a request over a secondary rate limit (403 or 429)."""
    message = (
        "You have exceeded a secondary rate limit. "
        f"Please wait a few minutes before you try again. {_support(request_id)}"
    )
    return {"message": message, "documentation_url": SECONDARY_DOCS}


def refusal_body(verdict: Verdict, identity: Identity, request_id: str) -> dict[str, str]:
    """GitHub's words, from the answers its users quote (see the module's docs)."""
    support = _support(request_id)
    if verdict.refused == "secondary":
        return secondary_limit_body(request_id)
    if identity.kind == "anonymous":
        message = (
            f"API rate limit exceeded for {identity.named}. (But here's the good news: "
            "Authenticated requests get a higher rate limit. "
            "Check out the documentation for more details.)"
        )
        docs = PRIMARY_DOCS
    else:
        message = f"API rate limit exceeded for {identity.named}. {support}"
        docs = PRIMARY_DOCS
    return {"message": message, "documentation_url": docs}


def is_metered(scope: Scope) -> bool:
    """An HTTP request of GitHub's API, not one of ghsim's own control endpoints (those are
    for tests and benches: never counted, limited or faulted)."""
    path: str = scope.get("path", "")
    return (
        scope["type"] == "http"
        and path.startswith("/api/")
        and not path.startswith("/api/v3/_ghsim/")
    )


class RateLimitHeaders:
    """ASGI middleware: count each ``/api/`` request, refuse it over a limit, report the budget."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_metered(scope):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limiter: RateLimiter = scope["app"].state.rate_limiter
        sim = scope["app"].state.sim
        auth = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value.decode("latin-1")
        client = (scope.get("client") or ("unknown", 0))[0]
        identity = identify(sim, auth, client)
        method: str = scope["method"]
        resource: Resource = "graphql" if path.startswith("/api/graphql") else "core"
        content = method == "POST" and resource == "core" and not _NOT_CONTENT.match(path)
        budget = limiter.budgets.setdefault(identity.key, Budget())
        verdict = budget.admit(
            limiter.limits,
            limiter.hourly_limit(identity, resource),
            resource,
            method,
            content,
            time.time(),
        )
        usage = limiter.usage.setdefault(identity.key, Usage())
        self._count(usage, method, path, resource, content, verdict)
        request_id = _request_id()
        extra = [
            (b"x-ratelimit-limit", str(verdict.limit).encode()),
            (b"x-ratelimit-remaining", str(verdict.remaining).encode()),
            (b"x-ratelimit-reset", str(verdict.reset).encode()),
            (b"x-ratelimit-used", str(verdict.used).encode()),
            (b"x-ratelimit-resource", resource.encode()),
            (b"x-github-media-type", b"github.v3; format=json"),
            (b"x-github-api-version-selected", b"2022-11-28"),
            (b"x-github-request-id", request_id.encode()),
        ]
        if verdict.refused is not None:
            await self._refuse(send, verdict, identity, request_id, extra, limiter.limits.status)
            return
        mint = _MINT.match(path) if method == "POST" else None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
                if mint is not None and message["status"] < 300:
                    limiter.mints[mint.group(1)] += 1
            await send(message)

        # Inner middleware (the fault mode) names the same request in what it answers.
        scope.setdefault("state", {})[REQUEST_ID_STATE] = request_id
        budget.in_flight += 1
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            budget.in_flight -= 1

    @staticmethod
    def _count(
        usage: Usage, method: str, path: str, resource: Resource, content: bool, verdict: Verdict
    ) -> None:
        usage.requests += 1
        if resource == "graphql":
            usage.graphql += 1
        else:
            usage.rest += 1
            usage.writes += method not in ("GET", "HEAD", "OPTIONS")
        usage.content += content
        usage.refused_primary += verdict.refused == "primary"
        usage.refused_secondary += verdict.refused == "secondary"
        usage.calls[
            f"{method} {_SHA.sub('/{sha}', _NUMBER.sub('/{n}', path[len('/api/v3') :]))}"
        ] += 1

    @staticmethod
    async def _refuse(
        send: Send,
        verdict: Verdict,
        identity: Identity,
        request_id: str,
        extra: list[tuple[bytes, bytes]],
        status: int,
    ) -> None:
        body = orjson.dumps({**refusal_body(verdict, identity, request_id), "status": str(status)})
        headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        if verdict.retry_after is not None:
            headers.append((b"retry-after", str(verdict.retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
