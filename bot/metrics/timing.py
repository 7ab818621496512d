"""What the workers count for /metrics: the narrow interface, and the arq job wrapper that
feeds it without touching the job functions (a run's sandbox phases are timed by
`bot.run.timed_session`).

The workers are other processes than the web app, possibly on other machines, so what they
count goes to a shared store (bot/redis_metrics.py) that /metrics reads at scrape time.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, cast

from arq import Retry

JOB_RESULTS = ("ok", "failed", "retried", "cancelled")


class RunMetrics(Protocol):
    """Counts what the workers do. An implementation logs its own failures and never raises:
    a metric that cannot be written must not fail the run it describes."""

    async def job(self, function: str, result: str) -> None:
        """A job function or a delivery's handler ended with `result` (see JOB_RESULTS)."""
        ...

    async def tokens(self, prompt: int, completion: int) -> None: ...

    async def sandbox_seconds(self, phase: str, seconds: float) -> None:
        """A sandbox phase's container was held for `seconds` (see `bot.run.timed_session`)."""
        ...

    async def ci_attempt(self) -> None:
        """A pushed head the run now waits on CI for."""
        ...

    async def ci_result(self, result: str, source: str) -> None:
        """`result` green or red (or flaky, pre_existing: red only by checks that passed on a
        re-run or are red on the base branch too), from `source` ci (the repository's checks)
        or sandbox (the `test` command run when no CI reported)."""
        ...

    async def label_to_pr(self, seconds: float) -> None:
        """From the request that queued the run to its draft pull request being opened."""
        ...

    async def outcome(self, what: str, result: str) -> None:
        """An outcome reward was recorded (`bot.run.outcomes`): `what` ci, tests, review,
        human_commits, merged or closed, and its `result` (green, weakened, approved, …)."""
        ...

    async def time_to_merge(self, seconds: float) -> None:
        """From the request that queued the run to its pull request being merged."""
        ...


class NoRunMetrics:
    """Counts nothing: a run made without a store (run-local, most tests)."""

    async def job(self, function: str, result: str) -> None:
        return None

    async def tokens(self, prompt: int, completion: int) -> None:
        return None

    async def sandbox_seconds(self, phase: str, seconds: float) -> None:
        return None

    async def ci_attempt(self) -> None:
        return None

    async def ci_result(self, result: str, source: str) -> None:
        return None

    async def label_to_pr(self, seconds: float) -> None:
        return None

    async def outcome(self, what: str, result: str) -> None:
        return None

    async def time_to_merge(self, seconds: float) -> None:
        return None


NO_METRICS = NoRunMetrics()


def metrics_of(ctx: dict[str, Any]) -> RunMetrics:
    """The recorder a worker's `on_startup` put in its ctx; none in a ctx built by hand."""
    found = ctx.get("metrics")
    return cast(RunMetrics, found) if found is not None else NO_METRICS


J = TypeVar("J", bound=Callable[..., Awaitable[Any]])


def counted(function: J, name: str | None = None) -> J:
    """`function`, an arq job function, counting how each of its calls ends. Wrapping the
    function keeps arq's own loop untouched: its hooks are told neither the function nor
    the result."""
    label = name or function.__name__

    @functools.wraps(function)
    async def job(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        metrics = metrics_of(ctx)
        try:
            result = await function(ctx, *args, **kwargs)
        except Retry:
            await metrics.job(label, "retried")
            raise
        except asyncio.CancelledError:
            # A job time-out or a worker shutting down; arq fails or requeues it.
            await asyncio.shield(metrics.job(label, "cancelled"))
            raise
        except Exception:
            await metrics.job(label, "failed")
            raise
        await metrics.job(label, "ok")
        return result

    return cast(J, job)
