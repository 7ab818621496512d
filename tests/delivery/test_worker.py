from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from arq import Retry
from arq.connections import ArqRedis

from bot.core import job_codec, jobs
from bot.core.events import Event
from bot.core.routing import Router
from bot.core.settings import Settings
from bot.delivery.worker import ERRORS_KEY, build_worker, handler_name
from bot.github.backend import GitHubKitApp
from bot.web.app import create_app
from bot.web.delivery_queue import DeliveryQueue
from handlers import router as default_router
from tests.fake_github import FakeGitHub
from tests.fake_github_fixtures import WEBHOOK_SECRET
from tests.handler_support import deliver, worker_ctx
from tests.pickle_support import pickled_job
from tests.webhook_support import SUBSCRIPTIONS, app_client, github_headers, recorded_payloads

EXPECTED_ROUTES = {
    ("issues", "labeled"): ["handlers.issues.on_issue_labeled"],
    ("issues", "edited"): ["handlers.issues.on_issue_edited"],
    ("issues", "closed"): ["handlers.issues.on_issue_closed"],
    ("issues", "unlabeled"): ["handlers.issues.on_issue_unlabeled"],
    ("issue_comment", "created"): ["handlers.issue_comment.on_comment_created"],
    ("pull_request", "closed"): ["handlers.pull_request.on_pull_closed"],
    ("pull_request_review", "submitted"): ["handlers.pull_request.on_review_submitted"],
    ("check_suite", "completed"): ["handlers.checks.on_check_suite_completed"],
    ("check_run", "completed"): ["handlers.checks.on_check_run_completed"],
    ("workflow_run", "completed"): ["handlers.checks.on_workflow_run_completed"],
    ("workflow_run", "requested"): ["handlers.checks.on_workflow_run_requested"],
    ("status", None): ["handlers.checks.on_status"],
}


@pytest.mark.parametrize("recorded", recorded_payloads(), ids=lambda p: p.id)
def test_router_sends_each_recorded_event_where_it_belongs(recorded: Any) -> None:
    action = json.loads(recorded.body).get("action")
    handlers = default_router.handlers_for(recorded.event, action)
    assert [handler_name(h) for h in handlers] == EXPECTED_ROUTES.get((recorded.event, action), [])


def flaky_router(calls: list[str], failures: dict[str, int]) -> Router:
    router = Router()

    def make(name: str) -> Any:
        async def handler(event: Event, ctx: Any) -> None:
            calls.append(name)
            if failures.get(name, 0) > 0:
                failures[name] -= 1
                raise RuntimeError(f"{name} broke")

        handler.__qualname__ = name
        return handler

    router.register("issues", action="labeled")(make("first"))
    router.register("issues")(make("every_action"))
    router.register("issues", action="labeled")(make("last"))
    return router


async def test_a_failing_handler_is_retried_alone(
    settings: Settings, github_app: GitHubKitApp, redis: aioredis.Redis
) -> None:
    calls: list[str] = []
    ctx = worker_ctx(settings, github_app, redis, flaky_router(calls, {"first": 1}))
    payload = {"action": "labeled", "sender": {"login": "x", "type": "User"}}
    with pytest.raises(Retry):
        await deliver(ctx, "issues", payload, delivery_id="iso-1")
    assert calls == ["every_action", "first", "last"]
    ctx["job_try"] = 2
    result = await deliver(ctx, "issues", payload, delivery_id="iso-1")
    assert calls == ["every_action", "first", "last", "first"]
    assert result["failed"] == []
    assert int(await redis.hget(ERRORS_KEY, f"{__name__}.first") or 0) == 1


async def test_retries_are_bounded(
    settings: Settings, github_app: GitHubKitApp, redis: aioredis.Redis
) -> None:
    calls: list[str] = []
    ctx = worker_ctx(settings, github_app, redis, flaky_router(calls, {"last": 99}))
    payload = {"action": "labeled"}
    for job_try in range(1, settings.handler_max_tries):
        ctx["job_try"] = job_try
        with pytest.raises(Retry):
            await deliver(ctx, "issues", payload, delivery_id="bound-1")
    ctx["job_try"] = settings.handler_max_tries
    result = await deliver(ctx, "issues", payload, delivery_id="bound-1")
    assert result["failed"] == [f"{__name__}.last"]
    assert calls.count("last") == settings.handler_max_tries
    assert calls.count("first") == 1


async def test_label_to_run_job_through_web_redis_and_worker(
    settings: Settings,
    github_app: GitHubKitApp,
    fake_github: FakeGitHub,
    redis: aioredis.Redis,
) -> None:
    """The whole intake: a signed delivery, the arq queue on real Redis, a worker in burst."""
    fake_github.roles["Codertocat"] = "admin"
    body = (
        recorded := next(p for p in recorded_payloads() if p.id == "issues/labeled.payload.json")
    ).body
    app = create_app(settings, SUBSCRIPTIONS)
    async with app_client(app) as client:
        headers = github_headers(recorded.event, body, WEBHOOK_SECRET)
        resp = await client.post("/webhooks/github", content=body, headers=headers)
    assert resp.status_code == 202
    worker = build_worker(settings, default_router, github_app, burst=True)
    try:
        await worker.main()
    finally:
        await worker.close()
    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (1, 0, 0)
    assert [m.decode() for m in await redis.zrange(jobs.RUN_QUEUE, 0, -1)] == [
        jobs.run_job_id("Codertocat/Hello-World", 1)
    ]
    assert len(fake_github.comment_bodies(1)) == 1


async def test_a_real_worker_retries_a_failing_handler_then_gives_up_cleanly(
    settings: Settings, github_app: GitHubKitApp, redis: aioredis.Redis
) -> None:
    """Through arq itself: Retry, job_try and the last try, on real Redis."""
    calls: list[str] = []
    router = flaky_router(calls, {"first": 1, "last": 99})
    settings.handler_max_tries = 2
    pool = ArqRedis(connection_pool=redis.connection_pool)
    queue = DeliveryQueue(pool, 60)
    assert await queue.enqueue_once("issues", "retry-1", b'{"action": "labeled"}')
    worker = build_worker(settings, router, github_app, burst=True)
    try:
        await worker.main()
    finally:
        await worker.close()
    assert calls == ["every_action", "first", "last", "first", "last"]
    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (1, 0, 1)


def recording_router(seen: list[dict[str, Any]]) -> Router:
    router = Router()

    async def record(event: Event, ctx: Any) -> None:
        seen.append(event.payload)

    router.register("issues", action="labeled")(record)
    return router


async def run_burst(settings: Settings, router: Router, github_app: GitHubKitApp) -> Any:
    worker = build_worker(settings, router, github_app, burst=True)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def test_a_pickled_job_is_refused_and_logged_and_the_next_job_still_runs(
    settings: Settings,
    github_app: GitHubKitApp,
    redis: aioredis.Redis,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Someone who can write to Redis queues a pickle that runs a command when loaded: the
    worker refuses it without loading it, and goes on to the delivery queued after it."""
    marker = tmp_path / "ran"
    await redis.set("arq:job:delivery:evil", pickled_job(jobs.PROCESS_DELIVERY, marker))
    await redis.zadd(jobs.DELIVERY_QUEUE, {"delivery:evil": int(time.time() * 1000) - 1000})
    queue = DeliveryQueue(ArqRedis(connection_pool=redis.connection_pool), 60)
    assert await queue.enqueue_once("issues", "good-1", b'{"action": "labeled"}')
    seen: list[dict[str, Any]] = []
    with caplog.at_level(logging.ERROR, logger="arq.worker"):
        worker = await run_burst(settings, recording_router(seen), github_app)
    assert not marker.exists()
    assert (worker.jobs_complete, worker.jobs_failed) == (1, 1)
    assert seen == [{"action": "labeled"}]
    [refusal] = [r for r in caplog.records if "delivery:evil" in r.getMessage()]
    assert refusal.exc_info is not None
    assert isinstance(refusal.exc_info[1].__cause__, job_codec.RefusedJob)
    assert not await redis.exists("arq:job:delivery:evil")
    assert await redis.zcard(jobs.DELIVERY_QUEUE) == 0
    refused = orjson.loads(await redis.get("arq:result:delivery:evil"))
    assert refused["s"] is False
    assert refused["r"] == "DeserializationError: unable to deserialize job"


async def test_results_are_stored_as_json(
    settings: Settings, github_app: GitHubKitApp, redis: aioredis.Redis
) -> None:
    queue = DeliveryQueue(ArqRedis(connection_pool=redis.connection_pool), 60)
    assert await queue.enqueue_once("issues", "res-1", b'{"action": "labeled"}')
    await run_burst(settings, recording_router([]), github_app)
    result = orjson.loads(await redis.get("arq:result:delivery:res-1"))
    assert result["s"] is True
    assert result["r"] == {"ran": [f"{__name__}.recording_router.<locals>.record"], "failed": []}
    assert result["a"] == ["issues", "res-1", {"action": "labeled"}]
