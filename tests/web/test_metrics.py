"""/metrics: the web's own delivery counts, the workers' counters in Redis, and the route."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import redis.asyncio as aioredis
from arq import Retry
from arq.connections import ArqRedis
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.agent.llm import OpenAICompatibleLLM
from bot.core.bearer import bearer_matches
from bot.core.feed import PHASES
from bot.core.settings import Settings, SettingsError
from bot.delivery.worker import build_worker
from bot.dev.scripted_model import ScriptedModel
from bot.github.backend import GitHubKitApp
from bot.metrics.counters import RedisRunMetrics, bucket_of, read_snapshot, snapshot_of
from bot.metrics.delivery_counts import DeliveryCounts
from bot.metrics.exposition import WorkersCollector
from bot.metrics.timing import counted
from bot.run.controller import Controller
from bot.run.state import Phase
from bot.web.app import create_app
from bot.web.delivery_queue import DeliveryQueue
from bot.web.endpoint import OUTCOMES
from tests.delivery.test_worker import flaky_router
from tests.fake_github_fixtures import WEBHOOK_SECRET
from tests.run.test_controller import GREET, R1, harness
from tests.run.test_run_followup import check_run
from tests.run_fakes import call, plan_call
from tests.webhook_support import SUBSCRIPTIONS, app_client, github_headers, recorded_payloads

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
PAYLOADS = {p.id: p for p in recorded_payloads()}


def samples(text: str) -> Samples:
    """Every sample of a scrape, by name and labels; parsing it is part of the check."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def delivered(found: Samples, outcome: str) -> float:
    """Deliveries of one outcome, whatever their event."""
    return sum(
        v
        for (name, labels), v in found.items()
        if name == "pilot_webhook_deliveries_total" and dict(labels)["outcome"] == outcome
    )


# pure pieces -----------------------------------------------------------------------------------
def test_deliveries_are_counted_by_outcome_and_only_known_events_get_a_label() -> None:
    counts = DeliveryCounts(OUTCOMES, {"issues", "ping"})
    counts.add("enqueued", "issues")
    counts.add("enqueued", "issues")
    counts.add("bad_signature", None)
    counts.add("too_large", "x" * 500)  # an unverified header: never its own series

    found = counts.counts()

    assert found[("enqueued", "issues")] == 2
    assert found[("bad_signature", "")] == 1
    assert found[("too_large", "other")] == 1
    assert {outcome for outcome, _ in found} == set(OUTCOMES)
    assert found[("pong", "")] == 0


def test_a_histogram_read_back_is_cumulative_with_inf_last() -> None:
    snapshot = snapshot_of(
        {b"start_run|ok": b"2", b"not a series": b"9"},
        {},
        {},
        {b"attempts": b"3", b"red|ci": b"1"},
        {b"10.0": b"1", b"60.0": b"2", b"+Inf": b"1", b"sum": b"20000.5"},
        {b"a": b"await_ci", b"b": b"await_ci", b"c": b"ready"},
    )

    buckets = dict(snapshot.label_to_pr.cumulative())
    assert list(buckets)[-1] == "+Inf"
    assert (buckets["10.0"], buckets["30.0"], buckets["60.0"], buckets["+Inf"]) == (1, 1, 3, 4)
    assert snapshot.label_to_pr.sum == 20000.5
    assert snapshot.jobs == {("start_run", "ok"): 2.0}
    assert snapshot.ci_attempts == 3 and snapshot.ci_results == {("red", "ci"): 1.0}
    assert snapshot.phases == {"await_ci": 2, "ready": 1}


def test_an_observation_goes_to_the_first_bucket_it_fits() -> None:
    assert bucket_of(10.0) == "10.0"
    assert bucket_of(10.01) == "30.0"
    assert bucket_of(0.0) == "10.0"
    assert bucket_of(1e9) == "+Inf"


def test_only_the_exact_bearer_token_opens_the_route() -> None:
    token = b"scrape-token-0123456789"
    assert bearer_matches("Bearer scrape-token-0123456789", token)
    assert bearer_matches("bearer scrape-token-0123456789", token)
    assert not bearer_matches("Bearer scrape-token-012345678", token)
    assert not bearer_matches("Basic scrape-token-0123456789", token)
    assert not bearer_matches("scrape-token-0123456789", token)
    assert not bearer_matches(None, token)


# the recorder and the collector on real Redis --------------------------------------------------
async def test_what_workers_record_comes_back_as_prometheus_families(
    redis: aioredis.Redis,
) -> None:
    one, two = RedisRunMetrics(redis), RedisRunMetrics(redis)  # two workers, one store
    await one.job("start_run", "ok")
    await two.job("start_run", "ok")
    await one.job("advance_run", "retried")
    await one.tokens(100, 20)
    await two.tokens(50, 5)
    await one.sandbox_seconds("execute", 1.5)
    await two.sandbox_seconds("execute", 0.5)
    await one.sandbox_seconds("check", 0.25)
    await one.ci_attempt()
    await two.ci_attempt()
    await one.ci_result("red", "ci")
    await two.ci_result("green", "sandbox")
    await one.label_to_pr(45.0)
    await two.label_to_pr(5000.0)
    await one.outcome("ci", "green")
    await two.outcome("ci", "green")
    await one.outcome("review", "changes_requested")
    await one.time_to_merge(7200.0)
    await redis.hset(PHASES, mapping={"a": "await_ci", "b": "await_ci", "c": "ready"})

    collector = WorkersCollector()
    await collector.refresh(redis)
    registry = CollectorRegistry()
    registry.register(collector)
    found = samples(generate_latest(registry).decode())

    assert value(found, "pilot_metrics_store_up") == 1
    assert value(found, "pilot_jobs_total", function="start_run", result="ok") == 2
    assert value(found, "pilot_jobs_total", function="advance_run", result="retried") == 1
    assert value(found, "pilot_llm_tokens_total", kind="prompt") == 150
    assert value(found, "pilot_llm_tokens_total", kind="completion") == 25
    assert value(found, "pilot_sandbox_seconds_total", phase="execute") == 2.0
    assert value(found, "pilot_sandbox_seconds_total", phase="check") == 0.25
    assert value(found, "pilot_ci_attempts_total") == 2
    assert value(found, "pilot_ci_results_total", result="red", source="ci") == 1
    assert value(found, "pilot_ci_results_total", result="green", source="sandbox") == 1
    assert value(found, "pilot_label_to_pr_seconds_bucket", le="30.0") == 0
    assert value(found, "pilot_label_to_pr_seconds_bucket", le="60.0") == 1
    assert value(found, "pilot_label_to_pr_seconds_bucket", le="3600.0") == 1
    assert value(found, "pilot_label_to_pr_seconds_bucket", le="+Inf") == 2
    assert value(found, "pilot_label_to_pr_seconds_count") == 2
    assert value(found, "pilot_label_to_pr_seconds_sum") == 5045.0
    assert value(found, "pilot_runs", phase="await_ci") == 2
    assert value(found, "pilot_runs", phase="ready") == 1
    assert value(found, "pilot_outcomes_total", what="ci", result="green") == 2
    assert value(found, "pilot_outcomes_total", what="review", result="changes_requested") == 1
    assert value(found, "pilot_time_to_merge_seconds_bucket", le="3600.0") == 0
    assert value(found, "pilot_time_to_merge_seconds_bucket", le="14400.0") == 1
    assert value(found, "pilot_time_to_merge_seconds_sum") == 7200.0


async def test_a_recorder_whose_redis_is_gone_logs_and_never_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    metrics = RedisRunMetrics(dead)
    with caplog.at_level(logging.WARNING, logger="pilot.metrics"):
        await metrics.job("start_run", "ok")
        await metrics.tokens(1, 1)
        await metrics.sandbox_seconds("execute", 1.0)
        await metrics.ci_attempt()
        await metrics.ci_result("green", "ci")
        await metrics.label_to_pr(1.0)
    await dead.aclose()
    assert [r.message for r in caplog.records].count("metrics not written") == 6


async def test_a_counted_job_says_how_each_call_ended(redis: aioredis.Redis) -> None:
    async def job(ctx: dict[str, Any], how: str) -> str:
        if how == "retry":
            raise Retry(defer=1)
        if how == "boom":
            raise RuntimeError("boom")
        if how == "cancel":
            raise asyncio.CancelledError
        return how

    wrapped = counted(job, "start_run")
    ctx = {"metrics": RedisRunMetrics(redis)}
    assert await wrapped(ctx, "fine") == "fine"
    with pytest.raises(Retry):
        await wrapped(ctx, "retry")
    with pytest.raises(RuntimeError):
        await wrapped(ctx, "boom")
    with pytest.raises(asyncio.CancelledError):
        await wrapped(ctx, "cancel")
    assert await wrapped({}, "no recorder") == "no recorder"

    jobs = (await read_snapshot(redis)).jobs
    assert jobs == {
        ("start_run", "ok"): 1,
        ("start_run", "retried"): 1,
        ("start_run", "failed"): 1,
        ("start_run", "cancelled"): 1,
    }


async def test_a_delivery_worker_counts_its_jobs_and_each_handler(
    settings: Settings, github_app: GitHubKitApp, redis: aioredis.Redis
) -> None:
    """Through arq: `last` fails on both of its two tries, `first` only on its first."""
    calls: list[str] = []
    settings.handler_max_tries = 2
    pool = ArqRedis(connection_pool=redis.connection_pool)
    assert await DeliveryQueue(pool, 60).enqueue_once("issues", "m-1", b'{"action": "labeled"}')
    router = flaky_router(calls, {"first": 1, "last": 99})
    worker = build_worker(settings, router, github_app, burst=True)
    try:
        await worker.main()
    finally:
        await worker.close()

    handler = "tests.delivery.test_worker.{}".format
    assert (await read_snapshot(redis)).jobs == {
        ("process_delivery", "retried"): 1,
        ("process_delivery", "ok"): 1,  # arq's view: the job ended; `last` gave up inside it
        (handler("every_action"), "ok"): 1,
        (handler("first"), "retried"): 1,
        (handler("first"), "ok"): 1,
        (handler("last"), "retried"): 1,
        (handler("last"), "failed"): 1,
    }


# GET /metrics through the app ------------------------------------------------------------------
@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings, SUBSCRIPTIONS)
    async with app_client(app) as client:
        yield app, client


async def post(client: httpx.AsyncClient, payload_id: str, **changes: Any) -> int:
    recorded = PAYLOADS[payload_id]
    headers = github_headers(recorded.event, recorded.body, WEBHOOK_SECRET)
    headers.update(changes.get("headers", {}))
    for name in changes.get("drop", ()):
        del headers[name]
    resp = await client.post("/webhooks/github", content=recorded.body, headers=headers)
    return resp.status_code


async def test_metrics_counts_the_deliveries_of_each_outcome(
    web: tuple[FastAPI, httpx.AsyncClient], redis: aioredis.Redis
) -> None:
    _, client = web
    labeled = "issues/labeled.payload.json"
    same = {"X-GitHub-Delivery": "3c7d2e80-0000-11ef-8000-000000000001"}
    assert await post(client, labeled, headers=same) == 202
    assert await post(client, labeled, headers=same) == 200
    assert await post(client, "issue_comment/created.payload.json") == 202
    assert await post(client, labeled, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}) == 401
    assert await post(client, "ping/payload.json") == 200
    assert await post(client, "push/payload.json") == 202
    assert await post(client, labeled, drop=["X-GitHub-Event"]) == 400

    resp = await client.get("/metrics")

    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(resp.text)
    deliveries = "pilot_webhook_deliveries_total"
    assert value(found, deliveries, outcome="enqueued", event="issues") == 1
    assert value(found, deliveries, outcome="enqueued", event="issue_comment") == 1
    assert value(found, deliveries, outcome="duplicate", event="issues") == 1
    assert value(found, deliveries, outcome="bad_signature", event="") == 1
    assert value(found, deliveries, outcome="pong", event="ping") == 1
    assert value(found, deliveries, outcome="ignored", event="other") == 1
    assert value(found, deliveries, outcome="missing_headers", event="") == 1
    assert value(found, deliveries, outcome="too_large", event="") == 0
    assert {dict(labels)["outcome"] for name, labels in found if name == deliveries} == set(
        OUTCOMES
    )
    assert value(found, "pilot_metrics_store_up") == 1
    assert value(found, "pilot_ci_attempts_total") == 0
    assert value(found, "pilot_label_to_pr_seconds_count") == 0


async def test_metrics_needs_the_bearer_token_once_one_is_set(
    settings: Settings, redis: aioredis.Redis
) -> None:
    settings.metrics_token = SecretStr("scrape-token-0123456789")
    app = create_app(settings, SUBSCRIPTIONS)
    async with app_client(app) as client:
        bare = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"}
        )
    assert (bare.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert bare.headers["www-authenticate"] == "Bearer"
    assert "pilot_webhook_deliveries" not in bare.text
    assert value(samples(right.text), "pilot_metrics_store_up") == 1


def test_a_placeholder_metrics_token_stops_start_up(settings: Settings) -> None:
    settings.metrics_token = SecretStr("changeme")
    with pytest.raises(SettingsError, match="PILOT_METRICS_TOKEN"):
        create_app(settings, SUBSCRIPTIONS)


async def test_metrics_without_redis_still_shows_the_web_counts(
    web: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = web
    assert await post(client, "ping/payload.json") == 200
    await app.state.redis.aclose()
    app.state.redis = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)

    resp = await client.get("/metrics")

    assert resp.status_code == 200
    found = samples(resp.text)
    assert value(found, "pilot_metrics_store_up") == 0
    assert value(found, "pilot_webhook_deliveries_total", outcome="pong", event="ping") == 1
    assert not any(name.startswith("pilot_jobs") for name, _ in found)


async def test_two_apps_in_one_process_keep_their_own_counts(
    settings: Settings, redis: aioredis.Redis
) -> None:
    scraped = []
    for pings in (2, 0):
        app = create_app(settings, SUBSCRIPTIONS)
        async with app_client(app, base_url="http://t") as client:
            for _ in range(pings):
                assert await post(client, "ping/payload.json") == 200
            scraped.append(samples((await client.get("/metrics")).text))
    assert [delivered(s, "pong") for s in scraped] == [2, 0]


# a real run with the recorder attached ---------------------------------------------------------
async def test_a_run_records_tokens_sandbox_time_ci_and_label_to_pr(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    docker_api: docker.DockerClient,
    redis: aioredis.Redis,
) -> None:
    fixed = GREET.replace("Hello", "Hello there")
    script = [
        plan_call(R1),
        call("run_command", command="echo hello from the sandbox"),
        call("write_file", path="greet.py", content=GREET),
        call("finish", summary="greet() added."),
        call("write_file", path="greet.py", content=fixed),
        call("finish", summary="CI fixed."),
    ]
    h = harness(tmp_path, model, llm, docker_api, None, script)
    h.deps.metrics = RedisRunMetrics(redis)
    began = time.time()

    state = await Controller(h.deps, h.host, h.run_id, "alice").run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    after_pr = await read_snapshot(redis)
    assert state.prompt_tokens > 0 and state.completion_tokens > 0
    assert after_pr.tokens == {"prompt": state.prompt_tokens, "completion": state.completion_tokens}
    assert set(after_pr.sandbox_seconds) == {"execute"} and after_pr.sandbox_seconds["execute"] > 0
    assert after_pr.ci_attempts == 1 and after_pr.ci_results == {}
    label_to_pr = after_pr.label_to_pr
    assert sum(label_to_pr.buckets.values()) == 1
    assert 0 < label_to_pr.sum <= time.time() - state.started_at
    assert state.started_at >= began - 1

    async def ci(sha: str, conclusion: str) -> Any:
        h.host.check_runs_of[sha] = [check_run(1, "Unit tests", conclusion, "boom")]
        return await Controller(h.deps, h.host, h.run_id, "").handle({"kind": "ci", "sha": sha})

    fixing = await ci(str(state.ci_sha), "failure")
    assert fixing is not None and fixing.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    ready = await ci(str(fixing.ci_sha), "success")
    assert ready is not None and ready.phase is Phase.READY, h.host.notes or h.host.state

    final = await read_snapshot(redis)
    assert final.ci_attempts == 2 == ready.ci_attempt
    assert final.ci_results == {("red", "ci"): 1, ("green", "ci"): 1}
    assert final.tokens["prompt"] == ready.prompt_tokens > after_pr.tokens["prompt"]
    assert final.sandbox_seconds["execute"] > after_pr.sandbox_seconds["execute"]
    assert sum(final.label_to_pr.buckets.values()) == 1  # the fix reuses the open PR
