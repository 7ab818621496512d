"""Wrong dashboard tokens are limited per client address: after the allowance the door answers
429 with Retry-After without looking at the token; right tokens and bare visits never count."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.core.settings import Settings
from bot.web.app import create_app
from bot.web.dashboard.gate import COOKIE, cookie_value
from bot.web.dashboard.throttle import FailureThrottle, ThrottleLimits, client_key
from tests.dashboard_support import TOKEN, with_token
from tests.webhook_support import SUBSCRIPTIONS

RIGHT = {"Authorization": f"Bearer {TOKEN}"}
WRONG = {"Authorization": "Bearer wrong-token-wrong-token"}
LIMITS = ThrottleLimits(max_failures=3, window_s=60.0, max_addresses=5)

Clients = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
async def clients(settings: Settings) -> AsyncIterator[Clients]:
    """Clients calling one app, each from the address it is given."""
    app = create_app(
        with_token(settings).model_copy(
            update={"dashboard_max_failures": 3, "dashboard_failure_window_s": 60.0}
        ),
        SUBSCRIPTIONS,
    )
    async with app.router.lifespan_context(app):
        yield lambda address: client_from(app, address)


@asynccontextmanager
async def client_from(app: ASGIApp | FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://pilot.test") as client:
        yield client


# the count -----------------------------------------------------------------------------------
def test_an_address_waits_once_its_failures_fill_the_window() -> None:
    throttle = FailureThrottle(LIMITS)
    for at in (0.0, 10.0):
        throttle.fail("192.0.2.9", at)
    assert throttle.wait_s("192.0.2.9", 11.0) is None
    throttle.fail("192.0.2.9", 20.0)
    assert throttle.wait_s("192.0.2.9", 20.0) == 40  # until the first leaves the window
    assert throttle.wait_s("192.0.2.9", 59.5) == 1
    assert throttle.wait_s("192.0.2.9", 60.0) is None
    throttle.fail("192.0.2.9", 61.0)  # the window slides: failures at 10, 20 and 61
    assert throttle.wait_s("192.0.2.9", 61.0) == 9
    assert throttle.wait_s("192.0.2.10", 61.0) is None


def test_a_flood_of_addresses_keeps_memory_bounded() -> None:
    throttle = FailureThrottle(LIMITS)
    for _ in range(3):
        throttle.fail("192.0.2.1", 0.0)
    for n in range(1000):
        throttle.fail(f"10.{n // 256}.{n % 256}.1", 1.0)
        assert len(throttle) <= LIMITS.max_addresses
    # The one that failed longest ago was forgotten first.
    assert throttle.wait_s("192.0.2.1", 2.0) is None


def test_the_last_failed_address_is_the_last_forgotten() -> None:
    throttle = FailureThrottle(LIMITS)
    for _ in range(3):
        throttle.fail("192.0.2.1", 0.0)
    for n in range(LIMITS.max_addresses - 1):
        throttle.fail(f"198.51.100.{n}", 1.0)
    assert throttle.wait_s("192.0.2.1", 2.0) == 58


@pytest.mark.parametrize(
    ("client", "key"),
    [
        (("192.0.2.7", 1), "192.0.2.7"),
        (("2001:db8:1:2:aaaa::1", 1), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:bbbb::9", 1), "2001:db8:1:2::/64"),
        (("::ffff:192.0.2.7", 1), "192.0.2.7"),
        (None, "unknown"),
        (("testclient", 50000), "testclient"),
    ],
)
def test_whom_a_request_counts_against(client: tuple[str, int] | None, key: str) -> None:
    assert client_key({"type": "http", "client": client}) == key


def test_the_allowance_is_a_setting() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.dashboard_max_failures, settings.dashboard_failure_window_s) == (10, 300.0)
    with pytest.raises(ValidationError):
        Settings(_env_file=None, dashboard_max_failures=0)  # type: ignore[call-arg]


# the door ------------------------------------------------------------------------------------
async def test_after_the_allowance_even_the_right_token_gets_429(clients: Clients) -> None:
    async with clients("192.0.2.20") as guesser, clients("192.0.2.21") as other:
        wrong = [
            await guesser.get("/dashboard", headers=WRONG),
            await guesser.get("/dashboard/api/runs", headers=WRONG),
            await guesser.get("/dashboard?token=not-the-token-at-all"),
        ]
        assert [r.status_code for r in wrong] == [401, 401, 401]
        page = await guesser.get("/dashboard", headers=RIGHT)
        data = await guesser.get("/dashboard/api/runs", headers=RIGHT)
        signing_in = await guesser.get(f"/dashboard?token={TOKEN}")
        # Another address is not held back by this one's guesses.
        assert (await other.get("/dashboard/api/runs", headers=RIGHT)).status_code == 200
        # The static files hold no data and are served whatever the count.
        assert (await guesser.get("/dashboard/static/dashboard.css")).status_code == 200
    for resp in (page, data, signing_in):
        assert resp.status_code == 429
        assert 59 <= int(resp.headers["retry-after"]) <= 60
        assert resp.headers["content-security-policy"].startswith("default-src 'none'")
        assert "set-cookie" not in resp.headers
    assert data.json()["error"].startswith("too many wrong dashboard tokens")
    assert "retry in" in page.text


async def test_right_tokens_and_bare_visits_never_count(clients: Clients) -> None:
    async with clients("192.0.2.30") as client:
        for _ in range(2):
            assert (await client.get("/dashboard", headers=WRONG)).status_code == 401
        for _ in range(10):
            assert (await client.get("/dashboard/api/runs", headers=RIGHT)).status_code == 200
            # The sign-in page and a poll that offers nothing are no guesses.
            assert (await client.get("/dashboard")).status_code == 401
            assert (await client.get("/dashboard/api/runs")).status_code == 401
        client.cookies.set(COOKIE, cookie_value(TOKEN.encode()))
        assert (await client.get("/dashboard")).status_code == 200
        client.cookies.clear()
        assert (await client.get("/dashboard", headers=WRONG)).status_code == 401
        assert (await client.get("/dashboard", headers=RIGHT)).status_code == 429


async def test_a_stale_cookie_counts_once_and_is_dropped(clients: Clients) -> None:
    async with clients("192.0.2.40") as client:
        client.cookies.set(COOKIE, "0" * 64, domain="pilot.test", path="/dashboard")
        first = await client.get("/dashboard/api/runs")
        assert first.status_code == 401
        assert first.headers["set-cookie"].startswith(f"{COOKIE}=;")
        assert "Max-Age=0" in first.headers["set-cookie"]
        # The browser dropped it: the page's next polls offer nothing and count for nothing.
        for _ in range(5):
            assert (await client.get("/dashboard/api/runs")).status_code == 401
        assert (await client.get("/dashboard", headers=RIGHT)).status_code == 200


async def test_behind_a_proxy_the_forwarded_address_counts(settings: Settings) -> None:
    """uvicorn's proxy headers (FORWARDED_ALLOW_IPS) set the ASGI client; the gate counts
    that, so one guesser behind the proxy does not lock everyone else out."""
    app = create_app(
        with_token(settings).model_copy(update={"dashboard_max_failures": 2}), SUBSCRIPTIONS
    )
    # uvicorn types its middleware with its own ASGI types, Starlette's app with its own.
    proxied: Any = ProxyHeadersMiddleware(app, trusted_hosts="10.0.0.1")  # type: ignore[arg-type]
    async with app.router.lifespan_context(app), client_from(proxied, "10.0.0.1") as proxy:
        guesser = {"X-Forwarded-For": "203.0.113.5"}
        for _ in range(2):
            assert (await proxy.get("/dashboard", headers={**WRONG, **guesser})).status_code == 401
        held = await proxy.get("/dashboard", headers={**RIGHT, **guesser})
        someone_else = await proxy.get(
            "/dashboard", headers={**RIGHT, "X-Forwarded-For": "203.0.113.6"}
        )
    assert held.status_code == 429
    assert someone_else.status_code == 200
