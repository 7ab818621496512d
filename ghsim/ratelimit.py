"""``X-RateLimit-*`` headers on API answers, counted per credential per hour (never enforced)."""

from __future__ import annotations

import hashlib
import threading
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LIMIT_AUTHENTICATED = 5000
LIMIT_ANONYMOUS = 60


class RateLimitHeaders:
    """ASGI middleware: count each ``/api/`` request and report the budget like GitHub."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._used: dict[tuple[str, int], int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        auth = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value
        key = hashlib.sha256(auth).hexdigest() if auth else f"ip:{(scope.get('client') or '')}"
        window = int(time.time()) // 3600
        with self._lock:
            used = self._used.get((key, window), 0) + 1
            self._used[(key, window)] = used
        limit = LIMIT_AUTHENTICATED if auth else LIMIT_ANONYMOUS
        resource = "graphql" if scope["path"].startswith("/api/graphql") else "core"
        extra = [
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", str(max(0, limit - used)).encode()),
            (b"x-ratelimit-reset", str((window + 1) * 3600).encode()),
            (b"x-ratelimit-used", str(used).encode()),
            (b"x-ratelimit-resource", resource.encode()),
            (b"x-github-media-type", b"github.v3; format=json"),
            (b"x-github-api-version-selected", b"2022-11-28"),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
