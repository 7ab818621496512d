"""The run engine's entry: one job's go at a run, starting it or moving it on with an event.

PLAN → WAIT_APPROVAL (when asked for) → SETUP → EXECUTE node by node (COMMIT and PUSH each)
→ CHECK (the repo's test command) → PULL_REQUEST → AWAIT_CI, then whatever CI, reviews and
people say (bot/run/dispatch.py picks the phase). No model decides the next state. A worker
that dies anywhere resumes from the saved state and the branch's commit trailers. The phases
are in bot/run/phases/, the session they share in bot/run/kernel.py.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.run.deps import RunDeps
from bot.run.dispatch import dispatch
from bot.run.host import RunHost
from bot.run.kernel import Run
from bot.run.phases.ci import evidence
from bot.run.phases.start import start
from bot.run.restart import asked_again
from bot.run.state import RESTING_PHASES, Phase, RunState

log = logging.getLogger("pilot.controller")


def stale_ci(state: RunState, event: dict[str, Any]) -> bool:
    """A CI event `on_ci` would ignore: not the sha awaited, or one already judged; never
    while a dead worker's half-done work waits to be finished (any event resumes it)."""
    if event.get("kind") != "ci" or state.working is not None:
        return False
    sha = event.get("sha")
    awaited = state.phase is Phase.AWAIT_CI and sha == state.ci_sha
    return not awaited or f"ci:{sha}" in state.handled


class Controller:
    def __init__(self, deps: RunDeps, host: RunHost, run_id: str, requested_by: str) -> None:
        self.deps = deps
        self.host = host
        self.run_id = run_id
        self.requested_by = requested_by
        self._run: Run[RunHost] = Run(deps, host, run_id, requested_by)

    async def run(self, queued_s: float | None = None, asked_at: float | None = None) -> RunState:
        """Starts the run, or moves it on as far as it can go; `queued_s` is how long its job
        waited, `asked_at` when the request was made (the event's own time: a replayed one is
        old). A run that exists is reconciled with the request (bot/run/restart.py), never
        replaced."""
        target = await self.host.target()
        state = await self.host.load_state() or RunState(target.issue.number, self.requested_by)
        asked = asked_at if asked_at is not None else self.deps.clock() - (queued_s or 0.0)
        if self.requested_by:
            again = asked_again(state, self.requested_by, asked)
            if again is not None:
                log.info("asked again", extra={"run": self.run_id, "was": state.phase.value})
                state = again
        if state.phase in RESTING_PHASES:
            log.info("nothing to do", extra={"run": self.run_id, "phase": state.phase.value})
            return state
        run = self._run
        why = await self._why_not(state, asked)
        if why is not None:
            # Stop wins: a run closed or unlabelled while queued never starts.
            run.target = target
            await run.stop(state, why)
            return state
        return await run.in_session(state, lambda s: start(run, s), queued_s)

    async def _why_not(self, state: RunState, asked: float) -> str | None:
        """Why the run must not work now, from GitHub's record and the stop flags; None to go.
        A stop flag older than the request to run was meant for an earlier one."""
        issue = await self.host.issue_now()
        if not issue.open:
            return "the issue was closed"
        label = self.deps.trigger_label
        if state.trigger == "label" and issue.labels is not None and label not in issue.labels:
            return f"the `{label}` label was taken off"
        signals = self.deps.signals
        if signals is None:
            return None
        target = await self.host.target()
        for number in state.numbers:
            flag = await signals.stop_flag(target.key, number)
            if flag is None:
                continue
            if self.requested_by and flag.at < asked:
                await signals.clear_stop(target.key, number)
                continue
            return "stopped before it could start" if state.phase is Phase.QUEUED else "stopped"
        return None

    async def handle(self, event: dict[str, Any]) -> RunState | None:
        """What CI, a review or a person said; None when the issue has no run."""
        state = await self.host.load_state()
        if state is None:
            return None
        run = self._run
        sha = event.get("sha")
        if stale_ci(state, event):
            # Decided from the state alone: the session's reads (issue, repository, config)
            # would cost 3 to 5 requests to learn nothing.
            log.info("stale CI news", extra={"run": self.run_id, "sha": sha})
            run.note(kind="ignored", event=event, ci_sha=sha, why="not a head CI is awaited on")
            return state
        if event.get("kind") == "ci" and state.working is None:
            # Most CI news comes while other jobs still run; CI's own reads say so, and the
            # session's reads wait until there is a verdict to act on.
            found = await evidence(self.host, str(sha))
            if found.verdict.state in ("pending", "none"):
                run.note(kind="ci", sha=sha, state=found.verdict.state, failing=[])
                return state
            run.ci_prefetch[str(sha)] = found
        return await run.in_session(state, lambda s: dispatch(run, s, event), None)
