"""GET /metrics in Prometheus's text format: the web process's own delivery counts, and what
the workers counted in Redis (bot/redis_metrics.py), read in one round trip per scrape.

Open unless PILOT_METRICS_TOKEN is set (it is meant to be scraped from inside the network);
then a scrape needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from redis.asyncio import Redis

from bot.core.bearer import bearer_matches
from bot.core.settings import Settings
from bot.metrics.counters import MetricsSnapshot, read_snapshot
from bot.metrics.delivery_counts import DeliveryCounts

log = logging.getLogger("pilot.metrics")


def delivery_families(counts: DeliveryCounts) -> list[Metric]:
    family = CounterMetricFamily(
        "pilot_webhook_deliveries",
        "Webhook deliveries this web process answered, by outcome and X-GitHub-Event "
        "('other' for an event no handler knows; empty when there was none, or when the "
        "signature was not valid and the header not to be trusted).",
        labels=["outcome", "event"],
    )
    for (outcome, event), value in sorted(counts.counts().items()):
        family.add_metric([outcome, event], value)
    return [family]


def worker_families(snapshot: MetricsSnapshot) -> list[Metric]:
    """The workers' counters as Prometheus families (pure: a snapshot in, families out)."""
    jobs = CounterMetricFamily(
        "pilot_jobs",
        "Jobs the workers ran, by function and result (ok, failed, retried, cancelled): the run "
        "queue's start_run, advance_run and run_command, the delivery queue's process_delivery, "
        "and each handler a delivery ran, by its dotted name (retried: it failed and another "
        "try is coming; failed: it failed on its last try).",
        labels=["function", "result"],
    )
    for (function, result), value in sorted(snapshot.jobs.items()):
        jobs.add_metric([function, result], value)
    runs = GaugeMetricFamily(
        "pilot_runs",
        "Runs by the phase they are in now, from the run feed.",
        labels=["phase"],
    )
    for phase, count in sorted(snapshot.phases.items()):
        runs.add_metric([phase], count)
    tokens = CounterMetricFamily(
        "pilot_llm_tokens",
        "Tokens the model used for runs (planning and the agent), by kind: prompt or completion.",
        labels=["kind"],
    )
    for kind in ("prompt", "completion"):
        tokens.add_metric([kind], snapshot.tokens.get(kind, 0.0))
    sandbox = CounterMetricFamily(
        "pilot_sandbox_seconds",
        "Seconds sandbox phase containers were held, by phase (setup, execute, check): from "
        "asking for a phase's container to its removal.",
        labels=["phase"],
    )
    for phase, seconds in sorted(snapshot.sandbox_seconds.items()):
        sandbox.add_metric([phase], seconds)
    attempts = CounterMetricFamily(
        "pilot_ci_attempts",
        "Pushed heads a run waited on CI for (the first push of a pull request and each fix).",
        value=snapshot.ci_attempts,
    )
    results = CounterMetricFamily(
        "pilot_ci_results",
        "CI verdicts runs acted on, by result (green, red, or flaky / pre_existing: red only "
        "by failures that passed on a re-run or fail on the base branch too) and source "
        "(ci: the repository's checks; sandbox: the test command, run when no CI reported "
        "in time).",
        labels=["result", "source"],
    )
    for (result, source), value in sorted(snapshot.ci_results.items()):
        results.add_metric([result, source], value)
    histogram = snapshot.label_to_pr
    label_to_pr = HistogramMetricFamily(
        "pilot_label_to_pr_seconds",
        "Seconds from the request that queued a run (the label or /pilot run) to its draft "
        "pull request being opened.",
        buckets=histogram.cumulative(),
        sum_value=histogram.sum,
    )
    return [
        jobs,
        runs,
        tokens,
        sandbox,
        attempts,
        results,
        label_to_pr,
        *outcome_families(snapshot),
    ]


def outcome_families(snapshot: MetricsSnapshot) -> list[Metric]:
    """The outcome rewards runs recorded (bot/run/outcomes.py) and the time to merge."""
    outcomes = CounterMetricFamily(
        "pilot_outcomes",
        "Outcome rewards recorded, by what was judged (ci: a CI verdict on an attempt; tests: "
        "a head that weakens the tests; review: a reviewer's verdict; human_commits: people's "
        "commits on the branch, read at the end; merged, closed: the pull request's end) and "
        "its result (green or red; weakened; approved or changes_requested; none or some; "
        "merged; closed).",
        labels=["what", "result"],
    )
    for (what, result), value in sorted(snapshot.outcomes.items()):
        outcomes.add_metric([what, result], value)
    histogram = snapshot.time_to_merge
    to_merge = HistogramMetricFamily(
        "pilot_time_to_merge_seconds",
        "Seconds from the request that queued a run (the label or /pilot run) to its pull "
        "request being merged.",
        buckets=histogram.cumulative(),
        sum_value=histogram.sum,
    )
    return [outcomes, to_merge]


class DeliveriesCollector:
    def __init__(self, counts: DeliveryCounts) -> None:
        self._counts = counts

    def collect(self) -> Iterable[Metric]:
        return delivery_families(self._counts)


class WorkersCollector:
    """The workers' families from the snapshot `refresh` read. prometheus_client collects
    synchronously, so the scrape reads Redis first; nothing awaits between the two."""

    def __init__(self) -> None:
        self._snapshot: MetricsSnapshot | None = None

    async def refresh(self, redis: Redis) -> None:
        try:
            self._snapshot = await read_snapshot(redis)
        except Exception:
            log.warning("metrics: Redis did not answer", exc_info=True)
            self._snapshot = None

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "pilot_metrics_store_up",
            "1 when this scrape read the workers' counters from Redis, 0 when it could not "
            "(the worker families are then missing from it).",
            value=1 if self._snapshot is not None else 0,
        )
        return [up, *(worker_families(self._snapshot) if self._snapshot is not None else [])]


def install_metrics(app: FastAPI, settings: Settings, counts: DeliveryCounts) -> None:
    """Adds GET /metrics with a registry of its own (never prometheus_client's global one:
    two apps in one process, as in the tests, would share their counts)."""
    token = settings.metrics_secret()
    registry = CollectorRegistry(auto_describe=False)
    workers = WorkersCollector()
    registry.register(DeliveriesCollector(counts))
    registry.register(workers)
    app.state.metrics_registry = registry

    async def metrics(request: Request) -> Response:
        if token is not None and not bearer_matches(request.headers.get("authorization"), token):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        await workers.refresh(request.app.state.redis)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
