"""The ghsim web app: REST under /api/v3, GraphQL, git over HTTP and the HTML view."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ghsim import ci, git_http
from ghsim.api_faults import ApiFaultAnswers
from ghsim.config import SimConfig
from ghsim.errors import install_handlers
from ghsim.faults import ApiFaults
from ghsim.json_bodies import JsonBodies
from ghsim.ratelimit import RateLimiter, RateLimitHeaders
from ghsim.routes import (
    actions,
    app_manifests,
    apps,
    checks,
    collaborators,
    comments,
    commits,
    contents,
    deliveries,
    faults,
    graphql,
    issues,
    labels,
    merges,
    pulls,
    reactions,
    refs,
    repos,
    review_comments,
    reviews,
    statuses,
    usage,
    users,
    web,
)
from ghsim.sim import Sim

log = logging.getLogger("ghsim")

# Literal paths (``/issues/comments``, ``/pulls/comments``) come before ``/{number}`` ones.
CORE_REST = [
    usage,
    faults,
    users,
    apps,
    app_manifests,
    deliveries,
    repos,
    contents,
    commits,
    refs,
    collaborators,
    comments,
    reactions,
    labels,
    issues,
    review_comments,
    reviews,
    merges,
    pulls,
]
# The CI side's REST routes, after the core ones.
CI_REST = [checks, statuses, actions]


def create_app(config: SimConfig) -> FastAPI:
    sim = Sim(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await sim.webhooks.start()
        apps.emit_installation_created_once(sim)
        await ci.start(sim)
        try:
            yield
        finally:
            await ci.stop(sim)
            await sim.webhooks.stop()
            sim.store.close()

    app = FastAPI(
        title="ghsim",
        lifespan=lifespan,
        docs_url="/_docs",
        redoc_url=None,
        openapi_url="/_openapi.json",
    )
    app.state.sim = sim
    app.state.rate_limiter = RateLimiter(config.rate_limits)
    app.state.api_faults = ApiFaults(config.api_faults, time.monotonic())
    install_handlers(app)
    # Innermost first: a faulted request is still counted and rate-limited.
    app.add_middleware(ApiFaultAnswers)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(JsonBodies)

    # Each router goes straight into the app: nesting them in an /api/v3 router would build
    # every route twice, which costs a visible part of the start-up.
    for module in CORE_REST + CI_REST:
        app.include_router(module.router, prefix="/api/v3")
    app.include_router(graphql.router, prefix="/api")
    app.include_router(git_http.router)
    app.include_router(app_manifests.web_router)
    app.include_router(web.router)
    return app
