"""What stops a working session from outside, watched while it works: a person's stop (the
stop flag, with its reason), an edit of the issue's text (a pause), and the run's lease lost
(Redis paused, another worker took the run). Each sets the run's flags; the session ends at
its next step, and a model call already under way is cancelled (`Run.unless_stopped`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Protocol

from bot.run.deps import Fence, RunDeps, StopSignals
from bot.run.host import RunTarget
from bot.run.issue_text import snapshot_of
from bot.run.state import RunState

STOP_POLL_S = 1.0


class Watched(Protocol):
    """The run's flags the watchers set (bot/run/kernel.py's `Run`)."""

    deps: RunDeps
    target: RunTarget | None
    stop_requested: bool
    stop_reason: str
    pause_requested: bool
    lease_lost: bool

    @property
    def repo_full_name(self) -> str: ...


@asynccontextmanager
async def watching(run: Watched, state: RunState) -> AsyncIterator[None]:
    watchers: list[asyncio.Task[None]] = []
    if run.deps.fence is not None:
        # Apart from the stop poll, which waits on Redis: a lease is lost when Redis hangs.
        watchers.append(asyncio.create_task(_lease(run, run.deps.fence)))
    if run.deps.signals is not None:
        watchers.append(asyncio.create_task(_poll(run, run.deps.signals, state)))
    try:
        yield
    finally:
        for task in watchers:
            task.cancel()
        for task in watchers:
            with suppress(asyncio.CancelledError):
                await task


async def _lease(run: Watched, fence: Fence) -> None:
    await fence.lost.wait()
    run.lease_lost = run.stop_requested = True


async def read_stop(run: Watched, signals: StopSignals, state: RunState) -> None:
    """Sets the run's stop flags from a stop asked for on its issue or pull request."""
    for number in state.numbers:
        flag = await signals.stop_flag(run.repo_full_name, number)
        if flag is not None:
            run.stop_reason, run.stop_requested = flag.reason, True


async def _poll(run: Watched, signals: StopSignals, state: RunState) -> None:
    while not run.stop_requested:
        await read_stop(run, signals, state)
        edited = await signals.pause_requested(run.repo_full_name, state.issue)
        if edited is not None and run.target is not None:
            if edited != snapshot_of(state, run.target).sha256:
                run.pause_requested = run.stop_requested = True
        await asyncio.sleep(STOP_POLL_S)
