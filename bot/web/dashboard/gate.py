"""The dashboard's door: its token, its cookie, the limit on wrong ones (`throttle`), and the
headers on everything under /dashboard.

An ASGI middleware rather than a FastAPI dependency so that every answer under the prefix,
FastAPI's own 404s and 422s included, is authenticated first and carries the same headers.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, urlencode

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.core.bearer import bearer_matches, same_secret
from bot.web.dashboard.throttle import FailureThrottle, ThrottleLimits, client_key

PREFIX = "/dashboard"
STATIC_PREFIX = PREFIX + "/static/"
COOKIE = "pilot_dashboard"
COOKIE_MAX_AGE = 7 * 24 * 3600
OFF_NOTE = b"The dashboard is off: set PILOT_DASHBOARD_TOKEN to turn it on.\n"

# Everything shown is untrusted text: no inline script or style may run, nothing may frame it,
# and no URL of it may leave in a Referer.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_REPLACED = {name for name, _ in SECURITY_HEADERS}

log = logging.getLogger("pilot.dashboard")


def cookie_value(token: bytes) -> str:
    """What the cookie holds: derived from the token, so the token itself never sits in it."""
    return hmac.new(token, b"issue-pilot dashboard session", hashlib.sha256).hexdigest()


def _under(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class DashboardGate:
    """Answers /dashboard requests that lack the token; passes the rest on, headers added."""

    def __init__(
        self,
        app: ASGIApp,
        token: bytes | None,
        denied_page: Callable[[], str],
        limits: ThrottleLimits | None = None,
    ) -> None:
        self._app = app
        self._token = token
        self._cookie = cookie_value(token).encode() if token is not None else None
        self._denied_page = denied_page
        self.throttle = FailureThrottle(limits or ThrottleLimits())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _under(scope["path"]):
            await self._app(scope, receive, send)
            return
        send = _with_headers(send)
        if self._token is None:
            await _answer(send, 404, OFF_NOTE, b"text/plain; charset=utf-8")
            return
        if scope["path"].startswith(STATIC_PREFIX):
            # The stylesheet and script hold no data; the sign-in page needs the stylesheet.
            await self._app(scope, receive, send)
            return
        address = client_key(scope)
        wait_s = self.throttle.wait_s(address, time.monotonic())
        if wait_s is not None:
            # Not even a right token gets in now: the guesser learns nothing while it waits.
            await _too_many(scope, send, wait_s)
            return
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        given = [value for key, value in query if key == "token"]
        if given:
            if self._matches(given[-1].encode()):
                await self._sign_in(scope, send, [(k, v) for k, v in query if k != "token"])
            else:
                self._failed(address)
                await self._deny(scope, send)
            return
        headers = dict(scope["headers"])
        if self._authorized(headers):
            await self._app(scope, receive, send)
            return
        # A request that offered nothing is no guess (the sign-in page, a poll after sign-out).
        stale_cookie = COOKIE in cookie_parser(headers.get(b"cookie", b"").decode("latin-1"))
        if b"authorization" in headers or stale_cookie:
            self._failed(address)
        await self._deny(scope, send, clear_cookie=stale_cookie)

    def _failed(self, address: str) -> None:
        now = time.monotonic()
        self.throttle.fail(address, now)
        wait_s = self.throttle.wait_s(address, now)
        if wait_s is not None:
            log.warning(
                "dashboard: %d wrong tokens from %s; refusing it for %d s",
                self.throttle.limits.max_failures,
                address,
                wait_s,
            )

    def _matches(self, given: bytes) -> bool:
        assert self._token is not None
        return same_secret(given, self._token)

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        assert self._token is not None
        if bearer_matches(headers.get(b"authorization", b"").decode("latin-1"), self._token):
            return True
        cookies = cookie_parser(headers.get(b"cookie", b"").decode("latin-1"))
        assert self._cookie is not None
        return same_secret(cookies.get(COOKIE, "").encode("latin-1"), self._cookie)

    async def _sign_in(self, scope: Scope, send: Send, rest: list[tuple[str, str]]) -> None:
        """Trades `?token=` for the cookie and sends the browser to the URL without it."""
        location = quote(scope["path"]) + (f"?{urlencode(rest)}" if rest else "")
        assert self._cookie is not None
        cookie = (
            f"{COOKIE}={self._cookie.decode()}; Path={PREFIX}; Max-Age={COOKIE_MAX_AGE}; "
            "HttpOnly; SameSite=Strict" + ("; Secure" if scope.get("scheme") == "https" else "")
        )
        headers = [(b"set-cookie", cookie.encode()), (b"location", location.encode())]
        if dict(scope["headers"]).get(b"sec-fetch-site") == b"cross-site":
            # Arriving from a link elsewhere: a browser leaves a SameSite=Strict cookie off every
            # hop of a redirect that began cross-site, so this hop goes by a page of our own.
            target = html.escape(location, quote=True)
            body = f'<!doctype html><meta http-equiv="refresh" content="0;url={target}">'
            body += f'<a href="{target}">Open the dashboard</a>\n'
            await _answer(send, 200, body.encode(), b"text/html; charset=utf-8", headers[:1])
        else:
            await _answer(send, 303, b"", b"text/plain; charset=utf-8", headers)

    async def _deny(self, scope: Scope, send: Send, clear_cookie: bool = False) -> None:
        challenge = [(b"www-authenticate", b'Bearer realm="issue-pilot dashboard"')]
        if clear_cookie:
            # A cookie from before the token changed: dropped, so the page's polling stops
            # sending it and cannot use up its address's allowance of wrong tokens.
            challenge.append((b"set-cookie", f"{COOKIE}=; Path={PREFIX}; Max-Age=0".encode()))
        if scope["path"].startswith(PREFIX + "/api/"):
            body = json.dumps({"error": "a valid dashboard token is needed"}).encode()
            await _answer(send, 401, body, b"application/json", challenge)
        else:
            page = self._denied_page().encode()
            await _answer(send, 401, page, b"text/html; charset=utf-8", challenge)


async def _too_many(scope: Scope, send: Send, wait_s: int) -> None:
    note = f"too many wrong dashboard tokens from this address; retry in {wait_s} s"
    retry = [(b"retry-after", str(wait_s).encode())]
    if scope["path"].startswith(PREFIX + "/api/"):
        await _answer(send, 429, json.dumps({"error": note}).encode(), b"application/json", retry)
    else:
        await _answer(send, 429, f"{note}\n".encode(), b"text/plain; charset=utf-8", retry)


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED]
            message = {**message, "headers": [*kept, *SECURITY_HEADERS]}
        await send(message)

    return sending


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
