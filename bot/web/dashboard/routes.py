"""The dashboard: pages of runs and their timelines, and the JSON they poll to stay current.

It reads only the run feed in Redis (`bot.run_feed`); the gate in `bot.dashboard_gate` has
already checked the token by the time a route here runs.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from redis.exceptions import RedisError

from bot.core.feed import RunFeedReader, RunSummary, Timeline
from bot.core.settings import Settings
from bot.core.templates import page_environment
from bot.web.dashboard import timeline as dashboard_timeline
from bot.web.dashboard import view as dashboard_view
from bot.web.dashboard.gate import DashboardGate
from bot.web.dashboard.throttle import ThrottleLimits

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATIC_TYPES = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,300}")
LIST_LIMIT = 100
POLL_MS = 2000
# Redis's Lua prints a number past 10^14 in exponent form, which LRANGE refuses: the feed
# would answer a huge `since` with an error, drawn as "unreachable".
MAX_SINCE = 2**31 - 1

log = logging.getLogger("pilot.dashboard")


class FeedRoute(APIRoute):
    """A route that answers 503 when Redis does not: the page says the feed is unreachable
    instead of a bare 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except (RedisError, OSError):
                log.warning("dashboard: the run feed in Redis does not answer", exc_info=True)
                if request.url.path.startswith("/dashboard/api/"):
                    return JSONResponse({"error": "the run feed is unreachable"}, status_code=503)
                return HTMLResponse(render("unreachable.html.j2"), status_code=503)

        return guarded


router = APIRouter(prefix="/dashboard", route_class=FeedRoute)


def render(name: str, **context: Any) -> str:
    return page_environment(TEMPLATES_DIR).get_template(name).render(poll_ms=POLL_MS, **context)


def install(app: FastAPI, settings: Settings) -> None:
    """Adds the routes and the gate in front of them; a placeholder token stops start-up here.

    Without a token the routes are left out and the gate answers 404 with a note for them.
    """
    token = settings.dashboard_secret()
    if token is not None:
        app.include_router(router)
    limits = ThrottleLimits(settings.dashboard_max_failures, settings.dashboard_failure_window_s)
    app.add_middleware(
        DashboardGate,
        token=token,
        denied_page=lambda: render("denied.html.j2"),
        limits=limits,
    )


def _reader(request: Request) -> RunFeedReader:
    return RunFeedReader(request.app.state.redis)


async def _rows(request: Request) -> list[dashboard_view.RunRow]:
    now = time.time()
    return [dashboard_view.run_row(r, now) for r in await _reader(request).runs(LIST_LIMIT)]


async def _run_from(
    request: Request, run_id: str, since: int = 0
) -> tuple[RunSummary, Timeline] | None:
    """The run and its timeline from event `since` on; None for an id no run has."""
    reader = _reader(request)
    run = await reader.run(run_id) if RUN_ID.fullmatch(run_id) else None
    if run is None:
        return None
    return run, await reader.timeline(run_id, since)


def _not_found(run_id: str) -> HTMLResponse:
    return HTMLResponse(render("missing.html.j2", run_id=run_id), status_code=404)


@router.get("")
async def runs_page(request: Request) -> HTMLResponse:
    """The list of runs, newest first."""
    return HTMLResponse(render("runs.html.j2", runs=await _rows(request)))


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str) -> HTMLResponse:
    """One run: its tree, CI attempts, links and timeline, as they are now."""
    found = await _run_from(request, run_id)
    if found is None:
        return _not_found(run_id)
    run, timeline = found
    return HTMLResponse(
        render(
            "run.html.j2",
            run=dashboard_view.run_head(run, time.time()),
            events=dashboard_timeline.events(timeline.first, timeline.events),
            next=timeline.next,
            api=dashboard_view.run_href(run_id, api=True),
        )
    )


@router.get("/api/runs")
async def runs_json(request: Request) -> JSONResponse:
    """The rows of the list, for the list page's poll."""
    return JSONResponse({"runs": [asdict(r) for r in await _rows(request)]})


@router.get("/api/runs/{run_id}")
async def run_json(
    request: Request, run_id: str, since: int = Query(0, ge=0, le=MAX_SINCE)
) -> JSONResponse:
    """A run's head and its timeline events from number `since` on, for the run page's poll."""
    found = await _run_from(request, run_id, since)
    if found is None:
        return JSONResponse({"error": "no such run"}, status_code=404)
    run, timeline = found
    return JSONResponse(
        {
            "run": asdict(dashboard_view.run_head(run, time.time())),
            "events": [
                asdict(e) for e in dashboard_timeline.events(timeline.first, timeline.events)
            ],
            "next": timeline.next,
        }
    )


@router.get("/static/{name}")
async def static(name: str) -> Response:
    """The stylesheet, the script and the icon; nothing else is served from the directory."""
    media_type = STATIC_TYPES.get(name)
    if media_type is None:
        return Response("not found\n", status_code=404, media_type="text/plain")
    return Response(_static_bytes(name), media_type=media_type)


@cache
def _static_bytes(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()
