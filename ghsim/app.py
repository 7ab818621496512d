"""The ghsim web app: REST under /api/v3, GraphQL, git over HTTP and the HTML view."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import ModuleType

from fastapi import FastAPI

from ghsim.config import SimConfig
from ghsim.errors import install_handlers
from ghsim.json_bodies import JsonBodies
from ghsim.ratelimit import RateLimitHeaders
from ghsim.routes import (
    app_manifests,
    apps,
    collaborators,
    comments,
    contents,
    deliveries,
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
    users,
    web,
)
from ghsim.sim import Sim

log = logging.getLogger("ghsim")

# Literal paths (``/issues/comments``, ``/pulls/comments``) come before ``/{number}`` ones.
CORE_REST = [
    users,
    apps,
    app_manifests,
    deliveries,
    repos,
    contents,
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
# Modules owned by the CI/git side, composed when present.
OPTIONAL_REST = ["ghsim.routes.checks", "ghsim.routes.statuses", "ghsim.routes.actions"]
OPTIONAL_ROOT = ["ghsim.git_http"]
# ``async def start(sim)`` / ``async def stop(sim)`` hooks run in the app's lifespan.
OPTIONAL_SERVICES = ["ghsim.ci"]


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def _hook(module: ModuleType | None, name: str) -> Callable[[Sim], Awaitable[None]] | None:
    hook = getattr(module, name, None) if module is not None else None
    return hook if callable(hook) else None


def create_app(config: SimConfig) -> FastAPI:
    sim = Sim(config)
    services = [m for m in (_optional(n) for n in OPTIONAL_SERVICES) if m is not None]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await sim.webhooks.start()
        apps.emit_installation_created_once(sim)
        for service in services:
            start = _hook(service, "start")
            if start is not None:
                await start(sim)
        try:
            yield
        finally:
            for service in reversed(services):
                stop = _hook(service, "stop")
                if stop is not None:
                    await stop(sim)
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
    install_handlers(app)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(JsonBodies)

    # Each router goes straight into the app: nesting them in an /api/v3 router would build
    # every route twice, which costs a visible part of the start-up.
    rest_routers = [module.router for module in CORE_REST]
    rest_routers += [m.router for m in (_optional(n) for n in OPTIONAL_REST) if m is not None]
    for router in rest_routers:
        app.include_router(router, prefix="/api/v3")
    app.include_router(graphql.router, prefix="/api")
    for name in OPTIONAL_ROOT:
        optional = _optional(name)
        if optional is not None:
            app.include_router(optional.router)
    app.include_router(app_manifests.web_router)
    app.include_router(web.router)
    return app
