"""The workers' counters in Redis: written with HINCRBY as things happen, read by /metrics in
one round trip at scrape time.

Each family is a hash under `pilot:metrics:`; a field holds one series (its label values
joined by `|`), a histogram one field per bucket (not cumulative) and one for its sum.
Counters only ever grow, so several workers add to the same fields safely.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace

from redis.asyncio import Redis

from bot.core.feed import PHASES, as_text

log = logging.getLogger("pilot.metrics")

PREFIX = "pilot:metrics:"
JOBS = PREFIX + "jobs"  # function|result → count
TOKENS = PREFIX + "tokens"  # prompt, completion → count
SANDBOX_SECONDS = PREFIX + "sandbox_seconds"  # phase → seconds
CI = PREFIX + "ci"  # attempts, and result|source → count
LABEL_TO_PR = PREFIX + "label_to_pr"  # bucket upper bound → count, and "sum"
OUTCOMES = PREFIX + "outcomes"  # what|result → count (bot/run/outcomes.py)
TIME_TO_MERGE = PREFIX + "time_to_merge"  # bucket upper bound → count, and "sum"
ATTEMPTS = "attempts"
SUM = "sum"
SEP = "|"

# Seconds; a scripted run takes a few, a real one minutes, a stuck one up to its 3 h limit.
LABEL_TO_PR_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 10800.0)
# Seconds from the label to the merge: people review in hours or days, not minutes.
TIME_TO_MERGE_BUCKETS = (600.0, 1800.0, 3600.0, 14400.0, 43200.0, 86400.0, 259200.0, 604800.0)


def series(*labels: str) -> str:
    return SEP.join(labels)


def labels_of(name: str | bytes, count: int) -> tuple[str, ...] | None:
    """The label values of a field; None for a field of another shape (not this version's)."""
    parts = as_text(name).split(SEP)
    return tuple(parts) if len(parts) == count else None


def bound_name(upper: float) -> str:
    """A bucket's `le`, as Prometheus writes it."""
    return "+Inf" if math.isinf(upper) else repr(float(upper))


def bucket_of(seconds: float, bounds: tuple[float, ...] = LABEL_TO_PR_BUCKETS) -> str:
    return bound_name(next((b for b in bounds if seconds <= b), math.inf))


class RedisRunMetrics:
    """The workers' `RunMetrics` in Redis; a write that fails is logged and dropped."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def job(self, function: str, result: str) -> None:
        await self._add(JOBS, series(function, result), 1)

    async def tokens(self, prompt: int, completion: int) -> None:
        if prompt or completion:
            await self._write((TOKENS, "prompt", prompt), (TOKENS, "completion", completion))

    async def sandbox_seconds(self, phase: str, seconds: float) -> None:
        await self._write((SANDBOX_SECONDS, phase, max(0.0, seconds)))

    async def ci_attempt(self) -> None:
        await self._add(CI, ATTEMPTS, 1)

    async def ci_result(self, result: str, source: str) -> None:
        await self._add(CI, series(result, source), 1)

    async def label_to_pr(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        await self._write((LABEL_TO_PR, bucket_of(seconds), 1), (LABEL_TO_PR, SUM, seconds))

    async def outcome(self, what: str, result: str) -> None:
        await self._add(OUTCOMES, series(what, result), 1)

    async def time_to_merge(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        bucket = bucket_of(seconds, TIME_TO_MERGE_BUCKETS)
        await self._write((TIME_TO_MERGE, bucket, 1), (TIME_TO_MERGE, SUM, seconds))

    async def _add(self, key: str, name: str, amount: int) -> None:
        await self._write((key, name, amount))

    async def _write(self, *increments: tuple[str, str, int | float]) -> None:
        try:
            # MULTI: a scrape never sees a histogram's bucket without its sum.
            async with self._redis.pipeline(transaction=len(increments) > 1) as pipe:
                for key, name, amount in increments:
                    if isinstance(amount, int):
                        pipe.hincrby(key, name, amount)
                    else:
                        pipe.hincrbyfloat(key, name, amount)
                await pipe.execute()
        except Exception:
            # A metric is not worth a run: log it and let the run go on.
            log.warning("metrics not written", extra={"metric": increments[0][0]}, exc_info=True)


@dataclass(frozen=True)
class Histogram:
    buckets: dict[float, float] = field(default_factory=dict)  # upper bound → count in it
    sum: float = 0.0
    bounds: tuple[float, ...] = LABEL_TO_PR_BUCKETS

    def cumulative(self) -> list[tuple[str, float]]:
        """Prometheus's buckets: each counts what is at or under it, +Inf last."""
        bounds = sorted({*self.bounds, *self.buckets, math.inf})
        total, out = 0.0, []
        for bound in bounds:
            total += self.buckets.get(bound, 0.0)
            out.append((bound_name(bound), total))
        return out


@dataclass(frozen=True)
class MetricsSnapshot:
    """Everything the workers counted, as read at one scrape."""

    jobs: dict[tuple[str, str], float] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    sandbox_seconds: dict[str, float] = field(default_factory=dict)
    ci_attempts: float = 0.0
    ci_results: dict[tuple[str, str], float] = field(default_factory=dict)
    label_to_pr: Histogram = field(default_factory=Histogram)
    phases: dict[str, int] = field(default_factory=dict)  # runs in each phase
    outcomes: dict[tuple[str, str], float] = field(default_factory=dict)
    time_to_merge: Histogram = field(
        default_factory=lambda: Histogram(bounds=TIME_TO_MERGE_BUCKETS)
    )


async def read_snapshot(redis: Redis) -> MetricsSnapshot:
    """Every family and the runs' phases in one pipelined round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in (
            JOBS,
            TOKENS,
            SANDBOX_SECONDS,
            CI,
            LABEL_TO_PR,
            PHASES,
            OUTCOMES,
            TIME_TO_MERGE,
        ):
            pipe.hgetall(key)
        jobs, tokens, sandbox, ci, label_to_pr, phases, outcomes, to_merge = await pipe.execute()
    snapshot = snapshot_of(jobs, tokens, sandbox, ci, label_to_pr, phases)
    return replace(
        snapshot,
        outcomes=pairs_of(outcomes),
        time_to_merge=histogram_of(to_merge, TIME_TO_MERGE_BUCKETS),
    )


Hash = dict[bytes, bytes] | dict[str, str]


def pairs_of(found: Hash) -> dict[tuple[str, str], float]:
    """A hash of two-label series; fields of another shape are left out."""
    counts: dict[tuple[str, str], float] = {}
    for name, value in found.items():
        labels = labels_of(name, 2)
        if labels is not None:
            counts[(labels[0], labels[1])] = float(value)
    return counts


def histogram_of(found: Hash, bounds: tuple[float, ...] = LABEL_TO_PR_BUCKETS) -> Histogram:
    buckets: dict[float, float] = {}
    total = 0.0
    for name, value in found.items():
        if as_text(name) == SUM:
            total = float(value)
        else:
            try:
                buckets[float(as_text(name))] = float(value)
            except ValueError:
                continue
    return Histogram(buckets, total, bounds)


def snapshot_of(
    jobs: Hash, tokens: Hash, sandbox: Hash, ci: Hash, label_to_pr: Hash, phases: Hash
) -> MetricsSnapshot:
    job_counts = pairs_of(jobs)
    ci_results: dict[tuple[str, str], float] = {}
    attempts = 0.0
    for name, value in ci.items():
        if as_text(name) == ATTEMPTS:
            attempts = float(value)
        elif (labels := labels_of(name, 2)) is not None:
            ci_results[(labels[0], labels[1])] = float(value)
    by_phase: dict[str, int] = {}
    for phase in phases.values():
        by_phase[as_text(phase)] = by_phase.get(as_text(phase), 0) + 1
    return MetricsSnapshot(
        jobs=job_counts,
        tokens={as_text(k): float(v) for k, v in tokens.items()},
        sandbox_seconds={as_text(k): float(v) for k, v in sandbox.items()},
        ci_attempts=attempts,
        ci_results=ci_results,
        label_to_pr=histogram_of(label_to_pr),
        phases=by_phase,
    )
