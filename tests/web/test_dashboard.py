"""The dashboard in the web app: its door, its pages and JSON, and hostile text in them."""

from __future__ import annotations

import html
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from bot.core.settings import Settings, SettingsError
from bot.web.app import WebhookShortcut, create_app
from bot.web.dashboard.gate import COOKIE, SECURITY_HEADERS, cookie_value
from bot.web.dashboard.routes import STATIC_DIR, TEMPLATES_DIR
from tests.dashboard_support import (
    ISSUE_URL,
    RUN_ID,
    TOKEN,
    feed_run,
    step,
    summary,
    with_token,
)
from tests.fake_github_fixtures import WEBHOOK_SECRET
from tests.webhook_support import SUBSCRIPTIONS, app_client, github_headers, recorded_payloads

BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(with_token(settings), SUBSCRIPTIONS)
    async with app_client(app) as c:
        yield c


def assert_secured(resp: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS:
        assert resp.headers.get(name.decode()) == value.decode(), name


# the door ---------------------------------------------------------------------------------------
async def test_without_a_token_the_dashboard_is_404_and_the_rest_works(
    settings: Settings, redis: aioredis.Redis
) -> None:
    app = create_app(with_token(settings, None), SUBSCRIPTIONS)
    body = next(p for p in recorded_payloads() if p.id == "issues/labeled.payload.json").body
    async with app_client(app) as c:
        answers = [
            await c.get(path, headers=BEARER)
            for path in ("/dashboard", "/dashboard/api/runs", "/dashboard/static/dashboard.js")
        ]
        health = await c.get("/healthz")
        delivery = await c.post(
            "/webhooks/github",
            content=body,
            headers=github_headers("issues", body, WEBHOOK_SECRET),
        )
    for resp in answers:
        assert resp.status_code == 404
        assert "PILOT_DASHBOARD_TOKEN" in resp.text
        assert_secured(resp)
    assert (health.status_code, delivery.status_code) == (200, 202)


@pytest.mark.parametrize("token", ["", "changeme", "  Secret  ", "short-token"])
def test_a_placeholder_or_short_token_stops_start_up(settings: Settings, token: str) -> None:
    weak = with_token(settings, token)
    with pytest.raises(SettingsError, match="PILOT_DASHBOARD_TOKEN"):
        weak.check_web_ready()
    with pytest.raises(SettingsError, match="PILOT_DASHBOARD_TOKEN"):
        create_app(weak, SUBSCRIPTIONS)


def test_serve_refuses_a_placeholder_token_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("PILOT_GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("PILOT_DASHBOARD_TOKEN", "changeme")
    assert main(["serve"]) == 2
    assert "PILOT_DASHBOARD_TOKEN" in capsys.readouterr().err


def test_the_token_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PILOT_DASHBOARD_TOKEN", TOKEN)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.dashboard_secret() == TOKEN.encode()
    assert Settings(_env_file=None, dashboard_token=None).dashboard_secret() is None  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Cookie": f"{COOKIE}={TOKEN}"},
        {"Cookie": f"{COOKIE}=" + "0" * 64},
    ],
)
async def test_a_missing_or_wrong_token_is_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    page = await client.get(f"/dashboard/runs/{RUN_ID}", headers=headers)
    data = await client.get("/dashboard/api/runs", headers=headers)
    nowhere = await client.get("/dashboard/no/such/page", headers=headers)
    assert page.status_code == data.status_code == nowhere.status_code == 401
    assert "token is needed" in page.text and page.headers["content-type"].startswith("text/html")
    assert data.json() == {"error": "a valid dashboard token is needed"}
    assert page.headers["www-authenticate"].startswith("Bearer")
    for resp in (page, data, nowhere):
        assert_secured(resp)


async def test_a_wrong_query_token_is_401_and_sets_nothing(client: httpx.AsyncClient) -> None:
    resp = await client.get("/dashboard?token=not-the-token-at-all")
    assert resp.status_code == 401 and "set-cookie" not in resp.headers


async def test_a_bearer_token_opens_the_pages(
    client: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    empty = await client.get("/dashboard", headers=BEARER)
    assert empty.status_code == 200 and "No runs yet" in empty.text
    await feed_run(redis, time.time())
    for path in ("/dashboard", f"/dashboard/runs/{RUN_ID}", "/dashboard/api/runs"):
        resp = await client.get(path, headers=BEARER)
        assert resp.status_code == 200, path
        assert_secured(resp)


async def test_a_query_token_becomes_a_strict_cookie_and_leaves_the_url(
    client: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    await feed_run(redis, time.time())
    resp = await client.get(f"/dashboard/runs/{RUN_ID}?x=1&token={TOKEN}&y=2")
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/dashboard/runs/{RUN_ID}?x=1&y=2"
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={cookie_value(TOKEN.encode())};")
    assert {"HttpOnly", "SameSite=Strict", "Path=/dashboard"} <= {
        p.strip() for p in cookie.split(";")
    }
    assert TOKEN not in cookie and "Secure" not in cookie
    assert_secured(resp)

    client.cookies.set(COOKIE, cookie_value(TOKEN.encode()))
    page = await client.get(resp.headers["location"])
    assert page.status_code == 200 and "Validate the repository config" in page.text


async def test_over_https_the_cookie_is_secure_and_a_link_from_elsewhere_lands_on_a_page(
    settings: Settings, redis: aioredis.Redis
) -> None:
    app = create_app(with_token(settings), SUBSCRIPTIONS)
    async with app_client(app, base_url="https://pilot.test") as c:
        resp = await c.get(f"/dashboard?token={TOKEN}", headers={"Sec-Fetch-Site": "cross-site"})
    # A redirect would carry the cross-site flag along and the Strict cookie would stay home.
    assert resp.status_code == 200 and "location" not in resp.headers
    assert '<meta http-equiv="refresh" content="0;url=/dashboard">' in resp.text
    assert TOKEN not in resp.text
    assert "; Secure" in resp.headers["set-cookie"]


# JSON and pages ----------------------------------------------------------------------------------
async def test_the_list_json_is_newest_first(
    client: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    now = time.time()
    feed = await feed_run(redis, now)
    await feed.publish(
        summary(now, run_id="bob__lib__issue-9", repo="bob/lib", issue=9, updated_at=now - 200)
    )
    await feed.publish(
        summary(now, run_id="carol__app__issue-1", repo="carol/app", issue=1, updated_at=now)
    )

    rows = (await client.get("/dashboard/api/runs", headers=BEARER)).json()["runs"]
    assert [r["run_id"] for r in rows] == ["carol__app__issue-1", RUN_ID, "bob__lib__issue-9"]
    assert rows[2]["age"] == "3 min ago"
    assert rows[1]["budget"] == {
        "tokens": "123,456 of 400,000",
        "percent": 31,
        "tone": "ok",
        "steps": "14 steps",
        "ci": "2 of 3",
    }


async def test_the_run_json_sends_only_events_since(
    client: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    now = time.time()
    feed = await feed_run(redis, now)
    url = f"/dashboard/api/runs/{RUN_ID}"

    first = (await client.get(url, headers=BEARER)).json()
    assert first["next"] == 5 and [e["number"] for e in first["events"]] == [0, 1, 2, 3, 4]
    assert first["run"]["tree"][1]["status"] == "in_progress"
    assert (
        first["events"][2]["actions"][0]["target"] == "$ python -m pytest -q tests/test_config.py"
    )
    assert (await client.get(f"{url}?since=5", headers=BEARER)).json()["events"] == []

    feed.event(RUN_ID, step("R2", 1, "ruff check .", "All checks passed!", now))
    await feed.publish(summary(now, steps=15, headline="Working on **R2** still."))
    later = (await client.get(f"{url}?since=5", headers=BEARER)).json()
    assert [e["number"] for e in later["events"]] == [5] and later["next"] == 6
    assert later["run"]["budget"]["steps"] == "15 steps"
    assert later["run"]["headline"][1] == {"kind": "strong", "text": "R2"}


async def test_unknown_runs_and_bad_arguments_are_answered_with_the_headers(
    client: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    missing = await client.get("/dashboard/runs/nobody__here__issue-1", headers=BEARER)
    odd = await client.get("/dashboard/runs/..%2F..%2Fetc", headers=BEARER)
    data = await client.get("/dashboard/api/runs/nobody", headers=BEARER)
    negative = await client.get(f"/dashboard/api/runs/{RUN_ID}?since=-1", headers=BEARER)
    assert (missing.status_code, odd.status_code, data.status_code) == (404, 404, 404)
    assert "No such run" in missing.text and data.json() == {"error": "no such run"}
    assert negative.status_code == 422
    for resp in (missing, odd, data, negative):
        assert_secured(resp)


async def test_pages_render_fully_without_script(
    client: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    await feed_run(redis, time.time())
    listing = (await client.get("/dashboard", headers=BEARER)).text
    assert f'href="/dashboard/runs/{RUN_ID}"' in listing
    assert "Validate the repository config" in listing and "123,456 of 400,000" in listing
    assert "14 steps · CI 2 of 3" in listing and "just now" in listing

    page = (await client.get(f"/dashboard/runs/{RUN_ID}", headers=BEARER)).text
    statuses = re.findall(r'<span class="status status-(\w+)">([\w ]+)</span>', page)
    assert statuses == [("done", "done"), ("in_progress", "in progress"), ("pending", "pending")]
    assert "<strong>R2</strong>" in page
    assert '<code class="target">$ python -m pytest -q tests/test_config.py</code>' in page
    assert '<pre class="output">3 passed in 0.12s</pre>' in page
    assert "<code>a1b2c3d</code>" in page and "lint, test (3.11)" in page
    assert (
        f'href="{ISSUE_URL}"' in page and 'href="https://github.example/alice/hello/pull/7"' in page
    )
    assert 'data-next="5"' in page


async def test_hostile_text_stays_text(client: httpx.AsyncClient, redis: aioredis.Redis) -> None:
    hostile = "<script>alert(1)</script>"
    now = time.time()
    feed = await feed_run(
        redis,
        now,
        title=hostile,
        headline=f"**{hostile}** `<img src=x onerror=alert(2)>`",
        pr_url="javascript:alert(3)",
        branch='x"><script>alert(4)</script>',
        question='"><svg onload=alert(5)>',
        tree=[{"id": "R1", "title": hostile, "status": "pending", "description": hostile}],
    )
    feed.event(RUN_ID, step("R1", 2, f"echo '{hostile}'", f"</pre>{hostile}", now))
    await feed.flush()

    for path in ("/dashboard", f"/dashboard/runs/{RUN_ID}"):
        page = (await client.get(path, headers=BEARER)).text
        assert "<script>alert" not in page and "<img" not in page and "<svg" not in page
        assert "javascript:" not in page.lower()
        assert html.escape(hostile, quote=False) in page or html.escape(hostile) in page
        # The only script on a page is the dashboard's own file.
        assert re.findall(r"<script[^>]*>", page) == [
            '<script src="/dashboard/static/dashboard.js" defer>'
        ]
    run = (await client.get(f"/dashboard/api/runs/{RUN_ID}", headers=BEARER)).json()["run"]
    assert run["title"] == hostile
    assert [link["label"] for link in run["links"]] == [
        "Issue #3",
        'Branch x"><script>alert(4)</script>',
    ]
    assert run["links"][1]["href"].endswith("/tree/x%22%3E%3Cscript%3Ealert%284%29%3C/script%3E")


async def test_static_files_are_served_and_the_script_never_writes_html(
    client: httpx.AsyncClient,
) -> None:
    css = await client.get("/dashboard/static/dashboard.css")
    js = await client.get("/dashboard/static/dashboard.js")
    other = await client.get("/dashboard/static/..%2Fdashboard.py")
    assert css.headers["content-type"].startswith("text/css") and "--fg" in css.text
    assert js.headers["content-type"].startswith("text/javascript") and "textContent" in js.text
    assert other.status_code == 404
    assert_secured(js)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in js.text, sink


def test_templates_hold_no_inline_script_or_style() -> None:
    # The CSP forbids both; one slipped in would be silently dead in the browser.
    for template in TEMPLATES_DIR.glob("*.j2"):
        text = template.read_text()
        assert "style=" not in text and "<style" not in text, template.name
        assert re.findall(r"<script(?![^>]*\bsrc=)", text) == [], template.name
        tags = " ".join(re.findall(r"<[^>]+>", text))
        assert re.findall(r"\son[a-z]+\s*=", tags) == [], template.name
    assert {p.name for p in STATIC_DIR.iterdir()} == {
        "dashboard.css",
        "dashboard.js",
        "favicon.svg",
    }


def test_the_webhook_shortcut_stays_outermost(settings: Settings) -> None:
    app: FastAPI = create_app(with_token(settings), SUBSCRIPTIONS)
    assert app.user_middleware[0].cls is WebhookShortcut


def test_the_templates_and_static_files_ship_in_the_package() -> None:
    import bot.web.dashboard

    package = Path(bot.web.dashboard.__file__).parent
    assert TEMPLATES_DIR.parent == package and STATIC_DIR.parent == package
    assert (TEMPLATES_DIR / "run.html.j2").exists() and (STATIC_DIR / "dashboard.js").exists()


async def test_a_redis_that_does_not_answer_is_a_503_not_a_crash(settings: Settings) -> None:
    app = create_app(with_token(settings), SUBSCRIPTIONS)
    async with app.router.lifespan_context(app):
        await app.state.redis.aclose()
        app.state.redis = aioredis.from_url(
            "redis://127.0.0.1:1/0", socket_connect_timeout=0.5, socket_timeout=0.5
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pilot.test") as c:
            page = await c.get("/dashboard", headers=BEARER)
            data = await c.get(f"/dashboard/api/runs/{RUN_ID}", headers=BEARER)
    assert (page.status_code, data.status_code) == (503, 503)
    assert "does not answer" in page.text and data.json() == {
        "error": "the run feed is unreachable"
    }
    assert_secured(page)


async def test_a_huge_since_is_refused_or_empty_never_a_503(
    client: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    await feed_run(redis, time.time())
    url = f"/dashboard/api/runs/{RUN_ID}"
    far = (await client.get(f"{url}?since={2**31 - 1}", headers=BEARER)).json()
    assert far["events"] == [] and far["next"] == 5
    for since in (10**15, 10**30):
        resp = await client.get(f"{url}?since={since}", headers=BEARER)
        assert resp.status_code == 422, resp.text
