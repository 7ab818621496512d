"""Which phase an event moves a run in: a table from the event's kind (what CI, a reviewer, a
person or the CI time-out said) to the phase function that takes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.run.host import RunHost
from bot.run.kernel import Run
from bot.run.phases.ci import on_ci, on_ci_timeout
from bot.run.phases.commands import on_command
from bot.run.phases.edits import on_edited
from bot.run.phases.resume import finish_interrupted
from bot.run.phases.review import on_pull_closed, on_review
from bot.run.phases.start import start
from bot.run.state import FINAL_PHASES, START_PATH, Phase, RunState

EventPhase = Callable[[Run[RunHost], RunState, dict[str, Any]], Awaitable[None]]


async def _ci(run: Run[RunHost], state: RunState, event: dict[str, Any]) -> None:
    await on_ci(run, state, str(event["sha"]))


async def _ci_timeout(run: Run[RunHost], state: RunState, event: dict[str, Any]) -> None:
    await on_ci_timeout(run, state, str(event["sha"]))


async def _pull_closed(run: Run[RunHost], state: RunState, event: dict[str, Any]) -> None:
    await on_pull_closed(run, state, bool(event.get("merged")))


async def _stop(run: Run[RunHost], state: RunState, event: dict[str, Any]) -> None:
    if state.phase is not Phase.STOPPED:
        await run.stop(state, str(event.get("reason") or "stopped"))


async def _resume(run: Run[RunHost], state: RunState, event: dict[str, Any]) -> None:
    # Work a lost job left (the reconciler found the run working with nobody on it): an
    # interrupted follow-up was finished above; the start path goes on from its state.
    if state.working is None and state.phase in START_PATH:
        await start(run, state)


PHASE_OF: dict[str, EventPhase] = {
    "resume": _resume,
    "ci": _ci,
    "ci_timeout": _ci_timeout,
    "review": on_review,
    "pull_closed": _pull_closed,
    "stop": _stop,
    "command": on_command,
    "edited": on_edited,
}


def _is_stop(event: dict[str, Any]) -> bool:
    kind = event.get("kind")
    # An edit pauses before anything is done again with the text it may replace.
    return kind in ("stop", "pull_closed", "edited") or (
        kind == "command" and event.get("name") == "stop"
    )


async def dispatch(run: Run[RunHost], state: RunState, event: dict[str, Any]) -> None:
    """Moves `state` on with `event`; an ended run only answers `status`."""
    kind = str(event.get("kind"))
    if state.phase in FINAL_PHASES:
        if kind == "command" and event.get("name") == "status":
            await on_command(run, state, event)
            return
        run.record(kind="ignored", event=event, why=f"run already {state.phase.value}")
        return
    if state.working is not None and state.phase is Phase.EXECUTE and not _is_stop(event):
        await finish_interrupted(run, state)
    phase = PHASE_OF.get(kind)
    if phase is None:
        run.record(kind="ignored", event=event, why="unknown event")
        return
    await phase(run, state, event)
