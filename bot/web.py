"""The web app: verify, cap, dedupe and enqueue webhook deliveries; nothing else."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import create_pool
from arq.connections import RedisSettings
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from bot import jobs
from bot.delivery_queue import DeliveryQueue
from bot.intake import Verdict, judge, screen
from bot.jsonlog import elapsed_ms
from bot.routing import Router
from bot.settings import Settings

log = logging.getLogger("pilot.web")

_OUTCOMES = (
    "too_large",
    "bad_signature",
    "missing_headers",
    "bad_json",
    "pong",
    "ignored",
    "enqueued",
    "duplicate",
    "enqueue_failed",
    "slow_body",
    "client_gone",
)
# Prebuilt: this route answers thousands of times a second and the bodies never vary.
_OUTCOME_BODIES = {o: b'{"outcome":"%s"}' % o.encode() for o in _OUTCOMES}
_INTAKE_HEADERS = ("x-hub-signature-256", "x-github-event", "x-github-delivery", "content-length")


class BodyTooLarge(Exception):
    pass


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, raising BodyTooLarge as soon as it passes `limit` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


async def read_body(request: Request, settings: Settings) -> bytes | Verdict:
    """The body, or the verdict for one that is too large, too slow or abandoned."""
    try:
        async with asyncio.timeout(settings.body_read_timeout_s):
            return await read_capped(request, settings.max_body_bytes)
    except BodyTooLarge:
        return Verdict(413, "too_large", request.headers.get("x-github-event"))
    except TimeoutError:
        return Verdict(408, "slow_body", request.headers.get("x-github-event"))
    except ClientDisconnect:
        return Verdict(400, "client_gone", request.headers.get("x-github-event"))


def create_app(settings: Settings, router: Router | None = None) -> FastAPI:
    secret = settings.webhook_secret()
    if router is None:
        from handlers import router as default_router

        router = default_router

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = await create_pool(
            RedisSettings.from_dsn(settings.redis_url), default_queue_name=jobs.DELIVERY_QUEUE
        )
        app.state.deliveries = DeliveryQueue(app.state.redis, settings.dedupe_ttl_s)
        try:
            yield
        finally:
            await app.state.redis.aclose()

    app = FastAPI(title="Issue Pilot", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.post("/webhooks/github")
    async def receive_webhook(request: Request) -> Response:
        start = time.perf_counter()
        delivery_id = request.headers.get("x-github-delivery")
        headers = {name: request.headers.get(name) for name in _INTAKE_HEADERS}
        body: bytes | None = None
        verdict = screen(headers, settings.max_body_bytes)
        if verdict is None:
            read = await read_body(request, settings)
            if isinstance(read, Verdict):
                verdict = read
            else:
                body = read
                verdict = judge(secret, body, headers, router)
        status, outcome = verdict.status, verdict.outcome
        if verdict.enqueue and body is not None and delivery_id and verdict.event:
            try:
                fresh = await request.app.state.deliveries.enqueue_once(
                    verdict.event, delivery_id, body
                )
                status, outcome = (202, "enqueued") if fresh else (200, "duplicate")
            except Exception:
                log.exception("enqueue failed", extra={"delivery_id": delivery_id})
                status, outcome = 503, "enqueue_failed"
        log.info(
            "delivery",
            extra={
                "delivery_id": delivery_id,
                "event": verdict.event,
                "action": verdict.action,
                "outcome": outcome,
                "status": status,
                "latency_ms": elapsed_ms(start),
            },
        )
        return Response(_OUTCOME_BODIES[outcome], status, media_type="application/json")

    @app.get("/healthz")
    async def healthz(request: Request) -> Response:
        try:
            await asyncio.wait_for(request.app.state.redis.ping(), timeout=2)
        except Exception:
            log.warning("healthz: redis does not answer", exc_info=True)
            return JSONResponse({"redis": "down"}, status_code=503)
        return JSONResponse({"redis": "ok"})

    return app
