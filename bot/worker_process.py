"""`issue-pilot worker`: the delivery worker and the run worker in one process, stopped together."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress

from bot.docker_sandbox import DockerSandboxes
from bot.llm import llm_from_settings
from bot.run_worker import build_run_worker, instance_id
from bot.settings import Settings
from bot.worker import build_worker, github_app_from

log = logging.getLogger("pilot.worker")


async def run_workers(settings: Settings) -> None:
    app = github_app_from(settings)
    llm = llm_from_settings(settings) if settings.llm_base_url else None
    if llm is None:
        log.warning("no model configured: runs will stop with a comment saying so")
    deliveries = build_worker(settings, github=app, handle_signals=False)
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
