from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from bot.core import jobs
from bot.core.settings import Settings
from bot.web.app import create_app
from tests.fake_github_fixtures import WEBHOOK_SECRET
from tests.webhook_support import (
    SUBSCRIPTIONS,
    Recorded,
    app_client,
    github_headers,
    recorded_payloads,
)

PAYLOADS = recorded_payloads()
SUBSCRIBED = {
    ("issues", "labeled"),
    ("issues", "edited"),
    ("issues", "unlabeled"),
    ("issues", "closed"),
    ("issue_comment", "created"),
    ("check_suite", "completed"),
    ("check_run", "completed"),
    ("workflow_run", "completed"),
    ("workflow_run", "requested"),
    ("status", None),
    ("pull_request", "closed"),
    ("pull_request_review", "submitted"),
}


def action_of(recorded: Recorded) -> str | None:
    action = json.loads(recorded.body).get("action")
    return action if isinstance(action, str) else None


@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings, SUBSCRIPTIONS)
    async with app_client(app) as client:
        yield app, client


async def queued_jobs(redis: aioredis.Redis) -> list[str]:
    return [m.decode() for m in await redis.zrange(jobs.DELIVERY_QUEUE, 0, -1)]


@pytest.mark.parametrize("recorded", PAYLOADS, ids=[p.id for p in PAYLOADS])
async def test_every_signed_payload_is_accepted(
    web: tuple[FastAPI, httpx.AsyncClient], redis: aioredis.Redis, recorded: Recorded
) -> None:
    _, client = web
    headers = github_headers(recorded.event, recorded.body, WEBHOOK_SECRET)
    resp = await client.post("/webhooks/github", content=recorded.body, headers=headers)
    queued = await queued_jobs(redis)
    if recorded.event == "ping":
        assert resp.status_code == 200
        assert queued == []
    elif (recorded.event, action_of(recorded)) in SUBSCRIBED:
        assert resp.status_code == 202
        assert resp.json() == {"outcome": "enqueued"}
        assert queued == [jobs.delivery_job_id(headers["X-GitHub-Delivery"])]
    else:
        assert resp.status_code == 202
        assert resp.json() == {"outcome": "ignored"}
        assert queued == []


@pytest.mark.parametrize("recorded", PAYLOADS, ids=[p.id for p in PAYLOADS])
@pytest.mark.parametrize("signature", ["wrong", "missing", "other-secret", "sha1-only"])
async def test_bad_signatures_are_rejected(
    web: tuple[FastAPI, httpx.AsyncClient],
    redis: aioredis.Redis,
    recorded: Recorded,
    signature: str,
) -> None:
    _, client = web
    headers = github_headers(recorded.event, recorded.body, WEBHOOK_SECRET)
    if signature == "wrong":
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    elif signature == "missing":
        del headers["X-Hub-Signature-256"]
    elif signature == "other-secret":
        headers = github_headers(recorded.event, recorded.body, "not-the-secret")
    else:
        headers["X-Hub-Signature"] = headers.pop("X-Hub-Signature-256").replace("sha256", "sha1")
    resp = await client.post("/webhooks/github", content=recorded.body, headers=headers)
    assert resp.status_code == 401
    assert await queued_jobs(redis) == []


async def test_signature_is_over_the_raw_bytes(
    web: tuple[FastAPI, httpx.AsyncClient], redis: aioredis.Redis
) -> None:
    _, client = web
    recorded = next(p for p in PAYLOADS if p.id == "issues/labeled.payload.json")
    headers = github_headers("issues", recorded.body, WEBHOOK_SECRET)
    reserialised = json.dumps(json.loads(recorded.body)).encode()
    assert reserialised != recorded.body
    resp = await client.post("/webhooks/github", content=reserialised, headers=headers)
    assert resp.status_code == 401


async def test_redelivery_enqueues_nothing(
    web: tuple[FastAPI, httpx.AsyncClient], redis: aioredis.Redis
) -> None:
    _, client = web
    recorded = next(p for p in PAYLOADS if p.id == "issue_comment/created.payload.json")
    headers = github_headers("issue_comment", recorded.body, WEBHOOK_SECRET)
    first = await client.post("/webhooks/github", content=recorded.body, headers=headers)
    again = await client.post("/webhooks/github", content=recorded.body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"outcome": "duplicate"}
    assert len(await queued_jobs(redis)) == 1
    ttl = await redis.ttl(f"pilot:delivery:{headers['X-GitHub-Delivery']}")
    assert 7 * 24 * 3600 - 60 < ttl <= 7 * 24 * 3600


@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
async def test_missing_github_headers_are_bad_requests(
    web: tuple[FastAPI, httpx.AsyncClient], redis: aioredis.Redis, missing: str
) -> None:
    _, client = web
    recorded = next(p for p in PAYLOADS if p.id == "issues/labeled.payload.json")
    headers = github_headers("issues", recorded.body, WEBHOOK_SECRET)
    del headers[missing]
    resp = await client.post("/webhooks/github", content=recorded.body, headers=headers)
    assert resp.status_code == 400
    assert await queued_jobs(redis) == []


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b'"a string"', b""])
async def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    web: tuple[FastAPI, httpx.AsyncClient], redis: aioredis.Redis, body: bytes
) -> None:
    _, client = web
    resp = await client.post(
        "/webhooks/github", content=body, headers=github_headers("issues", body, WEBHOOK_SECRET)
    )
    assert resp.status_code == 400
    assert await queued_jobs(redis) == []


async def test_oversized_body_is_refused_without_reading_it_all(
    settings: Settings, redis: aioredis.Redis
) -> None:
    settings.max_body_bytes = 64 * 1024
    app = create_app(settings, SUBSCRIPTIONS)
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(10_000):
            sent += 16 * 1024
            yield b" " * (16 * 1024)

    async with app_client(app) as client:
        chunked = await client.post(
            "/webhooks/github",
            content=endless(),
            headers=github_headers("issues", b"", WEBHOOK_SECRET),
        )
        declared = await client.post(
            "/webhooks/github",
            content=b"{}",
            headers={
                **github_headers("issues", b"{}", WEBHOOK_SECRET),
                "Content-Length": str(26 * 1024 * 1024),
            },
        )
    assert chunked.status_code == 413
    assert sent < 10_000 * 16 * 1024
    assert declared.status_code == 413
    assert await queued_jobs(redis) == []


async def test_default_cap_is_25_mib(settings: Settings) -> None:
    assert Settings(_env_file=None).max_body_bytes == 25 * 1024 * 1024  # type: ignore[call-arg]


async def test_healthz_reports_redis(web: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = web
    resp = await client.get("/healthz")
    assert resp.status_code == 200


async def test_healthz_is_503_when_redis_is_down(
    web: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = web
    await app.state.redis.aclose()
    app.state.redis = aioredis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.5, socket_timeout=0.5
    )
    resp = await client.get("/healthz")
    assert resp.status_code == 503


async def test_enqueue_failure_is_503_so_the_delivery_is_not_lost(
    web: tuple[FastAPI, httpx.AsyncClient], redis: aioredis.Redis
) -> None:
    from arq.connections import ArqRedis

    from bot.web.delivery_queue import DeliveryQueue

    app, client = web
    dead = ArqRedis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    app.state.webhook.deliveries = DeliveryQueue(dead, 60)
    recorded = next(p for p in PAYLOADS if p.id == "issues/labeled.payload.json")
    headers = github_headers("issues", recorded.body, WEBHOOK_SECRET)
    resp = await client.post("/webhooks/github", content=recorded.body, headers=headers)
    await dead.aclose()
    assert resp.status_code == 503
    assert resp.json() == {"outcome": "enqueue_failed"}
    # Nothing was claimed, so GitHub's redelivery of the same id is accepted later.
    assert not await redis.exists(f"pilot:delivery:{headers['X-GitHub-Delivery']}")


async def test_concurrent_deliveries_share_a_round_trip_and_each_is_queued_once(
    web: tuple[FastAPI, httpx.AsyncClient], redis: aioredis.Redis
) -> None:
    import asyncio

    app, client = web
    recorded = next(p for p in PAYLOADS if p.id == "issues/labeled.payload.json")
    headers = [github_headers("issues", recorded.body, WEBHOOK_SECRET) for _ in range(20)]
    headers += headers[:5]  # five redeliveries racing their originals
    responses = await asyncio.gather(
        *(client.post("/webhooks/github", content=recorded.body, headers=h) for h in headers)
    )
    assert sorted(r.status_code for r in responses) == [200] * 5 + [202] * 20
    assert len(await queued_jobs(redis)) == 20
    assert app.state.webhook.deliveries.batches_sent < 25


@pytest.mark.parametrize(
    "delivery_id", ["", "not a guid", "x" * 10, "0" * 65, "72d3162e -->", "72d3162e\n"]
)
async def test_delivery_ids_that_are_not_guids_are_refused(
    web: tuple[FastAPI, httpx.AsyncClient], redis: aioredis.Redis, delivery_id: str
) -> None:
    _, client = web
    recorded = next(p for p in PAYLOADS if p.id == "issues/labeled.payload.json")
    headers = github_headers("issues", recorded.body, WEBHOOK_SECRET)
    headers["X-GitHub-Delivery"] = delivery_id
    try:
        resp = await client.post("/webhooks/github", content=recorded.body, headers=headers)
    except httpx.LocalProtocolError:
        return  # a header value httpx itself refuses to send
    assert resp.status_code == 400
    assert await queued_jobs(redis) == []


@pytest.mark.parametrize("signature", [None, "sha256=abc", "sha1=" + "0" * 40])
async def test_unsigned_bodies_are_refused_before_they_are_read(
    settings: Settings, redis: aioredis.Redis, signature: str | None
) -> None:
    app = create_app(settings, SUBSCRIPTIONS)
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(100):
            read += 1
            yield b" " * 1024

    headers = github_headers("issues", b"", None)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    async with app_client(app) as client:
        resp = await client.post("/webhooks/github", content=body(), headers=headers)
    assert resp.status_code == 401
    assert read <= 1  # httpx may pull the first chunk before the app answers


async def test_a_body_that_trickles_in_is_cut_off(
    settings: Settings, redis: aioredis.Redis
) -> None:
    import asyncio

    settings.body_read_timeout_s = 0.3
    app = create_app(settings, SUBSCRIPTIONS)

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(50):
            await asyncio.sleep(0.05)
            yield b" "

    headers = github_headers("issues", b"{}", WEBHOOK_SECRET)
    async with app_client(app) as client:
        resp = await client.post("/webhooks/github", content=trickle(), headers=headers)
    assert resp.status_code == 408
    assert await queued_jobs(redis) == []


async def test_a_client_that_goes_away_mid_body_is_logged_not_crashed(
    settings: Settings, redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    from typing import Any

    app = create_app(settings, SUBSCRIPTIONS)
    recorded = next(p for p in PAYLOADS if p.id == "issues/labeled.payload.json")
    headers = github_headers("issues", recorded.body, WEBHOOK_SECRET)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/github",
        "raw_path": b"/webhooks/github",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("pilot.test", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    messages = iter(
        [
            {"type": "http.request", "body": recorded.body[:100], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with app.router.lifespan_context(app):
        with caplog.at_level("INFO", logger="pilot.web"):
            await app(scope, receive, send)
    assert [r.outcome for r in caplog.records if hasattr(r, "outcome")] == ["client_gone"]
    assert await queued_jobs(redis) == []
