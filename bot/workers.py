"""`issue-pilot worker`: the delivery worker and the run worker in one process, stopped together."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import suppress

import redis.asyncio as aioredis
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.agent.llm import llm_from_settings
from bot.core import job_codec, jobs
from bot.core.routing import Router
from bot.core.settings import Settings
from bot.core.signals import RedisRunSignals
from bot.delivery.redeliver import redeliver_failed
from bot.delivery.worker import build_worker
from bot.github.backend import GitHubKitApp
from bot.github.pacing import PaceLimits, RedisBuckets, RedisPacer
from bot.run.reconciler import reconcile_runs
from bot.run.worker import build_run_worker, instance_id
from bot.sandbox.docker_sandboxes import DockerSandboxes

log = logging.getLogger("pilot.worker")
RESTART_DELAY_S = 1.0


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
    sandboxes = DockerSandboxes(owner=instance_id(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [
        asyncio.create_task(
            supervised("deliveries", lambda: build_worker(settings, router, app, False, False))
        ),
        asyncio.create_task(
            supervised("runs", lambda: build_run_worker(settings, app, llm, sandboxes))
        ),
        asyncio.create_task(resync_forever(settings, app)),
    ]
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        waiter.cancel()
        # A run cancelled here releases its lease; the next worker takes it up from GitHub.
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await app.aclose()
        await pacing_redis.aclose()


async def supervised(name: str, build: Callable[[], Worker]) -> None:
    """Runs an arq worker, and a new one when Redis went away under it (a restart, a
    failover): arq's poll raises then, and a worker process without a supervisor would end."""
    while True:
        worker = build()
        try:
            await worker.async_run()
            return
        except (RedisConnectionError, RedisTimeoutError, OSError):
            log.warning("lost Redis: the worker starts again", extra={"worker": name})
        finally:
            with suppress(Exception):
                await worker.close()
        await asyncio.sleep(RESTART_DELAY_S)


async def resync_forever(settings: Settings, app: GitHubKitApp) -> None:
    """Every `reconcile_interval_s`: deliveries that failed are asked for again, and each
    unfinished run is compared with GitHub (bot/run/reconciler.py). Level-triggered, as
    GitHub's webhooks alone are not: they are never retried and may come in any order."""
    redis = aioredis.Redis.from_url(settings.redis_url)
    pool = await create_pool(
        RedisSettings.from_dsn(settings.redis_url),
        job_serializer=job_codec.serialize,
        job_deserializer=job_codec.deserialize,
    )
    queue, signals = jobs.ArqJobQueue(pool), RedisRunSignals(redis)
    # Apart: a redelivery waiting out GitHub's secondary limit must not hold up the runs.
    loops = [
        asyncio.create_task(
            _every(
                settings,
                "redeliver",
                lambda: redeliver_failed(app, redis, settings.reconcile_interval_s),
            )
        ),
        asyncio.create_task(
            _every(
                settings,
                "reconcile",
                lambda: reconcile_runs(app, redis, queue, signals, settings),
            )
        ),
    ]
    try:
        await asyncio.gather(*loops)
    finally:
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await pool.aclose()
        await redis.aclose()


async def _every(settings: Settings, name: str, step: Callable[[], Awaitable[object]]) -> None:
    while True:
        await asyncio.sleep(settings.reconcile_interval_s)
        try:
            await step()
        except Exception:
            # GitHub or Redis away for a pass: the next pass tries again.
            log.exception("resync step failed", extra={"step": name})
