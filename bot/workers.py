"""`issue-pilot worker`: the delivery worker and the run worker in one process, stopped together."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress

import redis.asyncio as aioredis

from bot.agent.llm import llm_from_settings
from bot.core.routing import Router
from bot.core.settings import Settings
from bot.delivery.worker import build_worker
from bot.github.backend import GitHubKitApp
from bot.github.pacing import PaceLimits, RedisBuckets, RedisPacer
from bot.run.worker import build_run_worker, instance_id
from bot.sandbox.docker_sandboxes import DockerSandboxes

log = logging.getLogger("pilot.worker")


async def run_workers(settings: Settings, router: Router) -> None:
    """Both workers on one GitHub App identity; `router` is the composed handler router."""
    # The installations' request budgets, shared with every other worker through Redis.
    pacing_redis = aioredis.Redis.from_url(settings.redis_url)

    def pacer(installation_id: int) -> RedisPacer:
        return RedisPacer(RedisBuckets(pacing_redis, installation_id, PaceLimits()))

    app = GitHubKitApp(
        settings.app_id(), settings.private_key(), settings.github_api_url, throttler_for=pacer
    )
    llm = llm_from_settings(settings) if settings.llm_base_url else None
    if llm is None:
        log.warning("no model configured: runs will stop with a comment saying so")
    deliveries = build_worker(settings, router, app, handle_signals=False)
    runs = build_run_worker(settings, app, llm, DockerSandboxes(owner=instance_id(settings)))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(w.async_run()) for w in (deliveries, runs)]
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        waiter.cancel()
        # A run cancelled here releases its lease; the next worker takes it up from GitHub.
        for worker in (runs, deliveries):
            with suppress(asyncio.CancelledError):
                await worker.close()
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await app.aclose()
        await pacing_redis.aclose()
