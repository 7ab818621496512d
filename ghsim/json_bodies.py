"""GitHub reads every API request body as JSON, whatever its ``Content-Type`` says."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

_JSON = (b"content-type", b"application/json")


class JsonBodies:
    """ASGI middleware: ``/api/`` requests reach the routes typed ``application/json``.

    ``curl -d`` sends ``application/x-www-form-urlencoded`` and some clients send no type;
    FastAPI would not parse those bodies as JSON, GitHub does.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            headers = [h for h in scope["headers"] if h[0] != b"content-type"]
            scope = {**scope, "headers": [*headers, _JSON]}
        await self.app(scope, receive, send)
