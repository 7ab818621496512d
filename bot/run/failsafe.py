"""A run job's last line: whatever its work raises, the run is not left frozen without a word.

- GitHub would not serve a request even after the retries its answer allowed, and the run could
  not finish saying so (the kernel's failure comment or its FAILED save failed as well, or the
  error came before a session): the status edit GitHub did not take is kept for the next job
  (`status_outbox.py`), and the job is tried again later (arq's `Retry`, deferred; the run
  worker puts its item back in the run's inbox). After `OUTAGE_TRIES` the job gives up: the
  status comment then shows a working phase with no lease, which the reconciler takes up.
- Anything else (a bug): the run fails with a comment naming the error, as the kernel's own
  failures do, so that `/pilot retry` resumes it; the traceback goes to the log.
- A lost lease: nothing more is written; the next holder goes on.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Protocol

from arq import Retry

from bot.github.api import GitHubApiError
from bot.github.status_comment import parse_state
from bot.run.deps import RunDeps
from bot.run.kernel import KernelHost, Run
from bot.run.lease import LeaseLost
from bot.run.state import FINAL_PHASES, RunState
from bot.run.status_outbox import StatusOutbox

log = logging.getLogger("pilot.runs")

# A job GitHub failed is tried again this much later (times its try), this many tries in all.
OUTAGE_DEFER_S = 60.0
OUTAGE_TRIES = 3


class GuardedHost(KernelHost, Protocol):
    async def load_state(self) -> RunState | None: ...

    async def flush(self) -> None: ...

    @property
    def unsaved(self) -> str | None: ...

    async def write_unsaved(self, body: str) -> None: ...


async def guarded(
    work: Callable[[], Awaitable[RunState | None]],
    deps: RunDeps,
    host: GuardedHost,
    run_id: str,
    requested_by: str,
    outbox: StatusOutbox,
    job_try: int = 1,
) -> RunState | None:
    """Runs one job's `work` on a run; returns the state it rests in (None: no run, or the
    job gave up on GitHub). Raises `Retry` to be run again later, and LeaseLost."""
    fields = {"run": run_id, "try": job_try}
    try:
        try:
            # What an earlier job could not write comes first: the run's saves stay in order.
            if await outbox.deliver(host.write_unsaved):
                log.info("an earlier job's status edit written", extra=fields)
            return await work()
        finally:
            if deps.fence is None or not deps.fence.lost.is_set():
                # Never lose the last state: a held-back edit goes out while the lease is ours.
                await host.flush()
    except (LeaseLost, Retry):
        raise
    except GitHubApiError as exc:
        await outbox.keep(host.unsaved)
        log.warning("GitHub failed the run's job", extra={**fields, "error": str(exc)})
        if job_try < OUTAGE_TRIES:
            raise Retry(defer=OUTAGE_DEFER_S * job_try) from exc
        log.error("giving up on GitHub: the run waits for its next job", extra=fields)
        return None
    except Exception as exc:
        log.exception("a run job failed", extra=fields)
        return await _fail(Run(deps, host, run_id, requested_by), host, exc, outbox)


async def _fail(
    run: Run[GuardedHost], host: GuardedHost, exc: Exception, outbox: StatusOutbox
) -> RunState | None:
    """The run failed with a comment saying so, best effort: this is already the error path."""
    try:
        unsaved = parse_state(host.unsaved) if host.unsaved else None
        state = RunState.from_dict(unsaved) if unsaved else await host.load_state()
        if state is None or state.phase in FINAL_PHASES:
            return state
        error = "".join(traceback.format_exception_only(exc)).strip()
        await run.fail(state, f"an unexpected error stopped the run ({type(exc).__name__})", error)
        await host.flush()
        return state
    except LeaseLost:
        raise
    except Exception:
        log.exception("the failure could not be reported", extra={"run": run.run_id})
        await outbox.keep(host.unsaved)
        return None
