from __future__ import annotations

import json
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq import Retry
from arq.connections import ArqRedis

from bot.core import jobs
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
from tests.webhook_support import SUBSCRIPTIONS, app_client, github_headers, recorded_payloads

EXPECTED_ROUTES = {
    ("issues", "labeled"): ["handlers.issues.on_issue_labeled"],
    ("issues", "closed"): ["handlers.issues.on_issue_closed"],
    ("issues", "unlabeled"): ["handlers.issues.on_issue_unlabeled"],
    ("issue_comment", "created"): ["handlers.issue_comment.on_comment_created"],
    ("pull_request", "closed"): ["handlers.pull_request.on_pull_closed"],
    ("pull_request_review", "submitted"): ["handlers.pull_request.on_review_submitted"],
    ("check_suite", "completed"): ["handlers.checks.on_check_suite_completed"],
    ("check_run", "completed"): ["handlers.checks.on_check_run_completed"],
    ("workflow_run", "completed"): ["handlers.checks.on_workflow_run_completed"],
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
