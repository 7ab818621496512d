"""The web app: verify, cap, dedupe and enqueue webhook deliveries; nothing else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import create_pool
from arq.connections import RedisSettings
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.core import job_codec, jobs
from bot.core.routing import Subscriptions
from bot.core.settings import Settings
from bot.metrics.exposition import install_metrics
from bot.web.dashboard.routes import install as install_dashboard
from bot.web.delivery_queue import DeliveryQueue
from bot.web.endpoint import WebhookEndpoint

log = logging.getLogger("pilot.web")


class WebhookShortcut:
    """Hands POST /webhooks/github to its endpoint ahead of FastAPI's exception handling and
    routing, which would otherwise cost a third of what answering a delivery costs."""

    def __init__(self, app: ASGIApp, endpoint: WebhookEndpoint) -> None:
        self._app = app
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/webhooks/github"
            and scope["method"] == "POST"
        ):
            await self._endpoint(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def create_app(settings: Settings, subscriptions: Subscriptions) -> FastAPI:
    """The web app; `subscriptions` come from the handler router, composed in `bot.cli`."""
    # Built here so a missing webhook secret stops start-up, not the first delivery.
    endpoint = WebhookEndpoint(settings, subscriptions)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = await create_pool(
            RedisSettings.from_dsn(settings.redis_url),
            job_serializer=job_codec.serialize,
            job_deserializer=job_codec.deserialize,
            default_queue_name=jobs.DELIVERY_QUEUE,
        )
        endpoint.deliveries = DeliveryQueue(app.state.redis, settings.dedupe_ttl_s)
        try:
            yield
        finally:
            endpoint.deliveries = None
            await app.state.redis.aclose()

    app = FastAPI(title="Issue Pilot", lifespan=lifespan, docs_url=None, redoc_url=None)

    app.state.webhook = endpoint
    install_metrics(app, settings, endpoint.counts)
    # Added before the shortcut, which wraps it: deliveries never pass the dashboard's gate.
    install_dashboard(app, settings)
    app.add_middleware(WebhookShortcut, endpoint=endpoint)
    # Other methods on the path get FastAPI's 405 from this route.
    app.router.routes.append(Route("/webhooks/github", endpoint, methods=["POST"]))

    @app.get("/healthz")
    async def healthz(request: Request) -> Response:
        try:
            await asyncio.wait_for(request.app.state.redis.ping(), timeout=2)
        except Exception:
            log.warning("healthz: no answer from Redis", exc_info=True)
            return JSONResponse({"redis": "down"}, status_code=503)
        return JSONResponse({"redis": "ok"})

    return app
