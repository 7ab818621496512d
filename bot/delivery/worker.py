"""The arq worker: routes each delivery to its handlers, each isolated and retried alone."""

from __future__ import annotations

import logging
import time
from typing import Any

from arq import Retry
from arq.connections import RedisSettings
from arq.worker import Function, Worker, func

from bot.core import job_codec, jobs
from bot.core.ci_index import RedisCiIndex
from bot.core.coordination import RedisCoordination
from bot.core.events import Event
from bot.core.jsonlog import elapsed_ms
from bot.core.routing import Handler, Router
from bot.core.settings import Settings
from bot.core.signals import RedisRunSignals
from bot.delivery.context import HandlerContext
from bot.github.api import GitHubApp
from bot.metrics.counters import RedisRunMetrics
from bot.metrics.timing import counted, metrics_of

log = logging.getLogger("pilot.worker")

HANDLED_KEY = "pilot:handled:{}"
ERRORS_KEY = "pilot:stats:handler_errors"
_HANDLED_TTL_S = 24 * 3600


def handler_name(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def retry_delay_s(job_try: int) -> int:
    return int(min(60, 2**job_try))


async def process_delivery(
    ctx: dict[str, Any], event_name: str, delivery_id: str, payload: dict[str, Any]
) -> dict[str, list[str]]:
    """Runs every handler subscribed to the delivery; only failed ones run again on retry."""
    event = Event(event_name, delivery_id, payload)
    router: Router = ctx["router"]
    redis = ctx["redis"]
    job_try: int = ctx.get("job_try", 1)
    handled_key = HANDLED_KEY.format(delivery_id)
    done = {m.decode() for m in await redis.smembers(handled_key)}
    ran: list[str] = []
    failed: list[str] = []
    for handler in router.handlers_for(event.name, event.action):
        name = handler_name(handler)
        if name in done:
            continue
        fields = {
            "delivery_id": delivery_id,
            "event": event.name,
            "action": event.action,
            "handler": name,
            "try": job_try,
        }
        start = time.perf_counter()
        try:
            await handler(event, ctx["handler_ctx"])
        except Exception:
            log.exception("handler failed", extra={**fields, "latency_ms": elapsed_ms(start)})
            await redis.hincrby(ERRORS_KEY, name, 1)
            last_try = job_try >= ctx["max_tries"]
            await metrics_of(ctx).job(name, "failed" if last_try else "retried")
            failed.append(name)
            continue
        await redis.sadd(handled_key, name)
        await redis.expire(handled_key, _HANDLED_TTL_S)
        log.info("handled", extra={**fields, "latency_ms": elapsed_ms(start)})
        await metrics_of(ctx).job(name, "ok")
        ran.append(name)
    if failed:
        if job_try >= ctx["max_tries"]:
            log.error("giving up", extra={"delivery_id": delivery_id, "failed": failed})
            return {"ran": ran, "failed": failed}
        raise Retry(defer=retry_delay_s(job_try))
    return {"ran": ran, "failed": []}


def build_worker(
    settings: Settings,
    router: Router,
    github: GitHubApp,
    burst: bool = False,
    handle_signals: bool | None = None,
) -> Worker:
    """An arq worker for deliveries, given the composed handler router and the GitHub App (whose
    owner closes it); tests run it in burst mode."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        app = github
        ctx["github"] = app
        ctx["router"] = router
        ctx["max_tries"] = settings.handler_max_tries
        ctx["metrics"] = RedisRunMetrics(ctx["redis"])
        ctx["handler_ctx"] = HandlerContext(
            settings=settings,
            github=app,
            jobs=jobs.ArqJobQueue(ctx["redis"]),
            coordination=RedisCoordination(ctx["redis"]),
            signals=RedisRunSignals(ctx["redis"]),
            ci_index=RedisCiIndex(ctx["redis"]),
        )

    functions: list[Function] = [
        func(
            counted(process_delivery),
            name=jobs.PROCESS_DELIVERY,
            max_tries=settings.handler_max_tries,
        )
    ]
    return Worker(
        functions=functions,
        queue_name=jobs.DELIVERY_QUEUE,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        job_serializer=job_codec.serialize,
        job_deserializer=job_codec.deserialize,
        on_startup=on_startup,
        burst=burst,
        poll_delay=0.05,
        max_jobs=20,
        job_timeout=300,
        keep_result=3600,
        handle_signals=(not burst) if handle_signals is None else handle_signals,
    )
