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

    async def run(self, queued_s: float | None = None) -> RunState:
        """Starts the run, or moves it on as far as it can go; `queued_s` is how long its job
        waited."""
        target = await self.host.target()
        state = await self.host.load_state() or RunState(target.issue.number, self.requested_by)
        if state.phase in (Phase.STOPPED, Phase.FAILED) and self.requested_by:
            # Asked again after a stop or a failure: a new attempt, on the same branch.
            state = RunState(
                target.issue.number,
                self.requested_by,
                attempt=state.attempt + 1,
                branch=state.branch,
                pr_number=state.pr_number,
                pr_url=state.pr_url,
                snapshot=state.snapshot,
                hidden_ignored=state.hidden_ignored,
            )
            await self._run.clear_stop(state)
        elif state.phase is Phase.QUEUED:
            # A stop flag left by an earlier close of the issue is not meant for this run.
            await self._run.clear_stop(state)
        if state.phase in RESTING_PHASES:
            log.info("nothing to do", extra={"run": self.run_id, "phase": state.phase.value})
            return state
        run = self._run
        return await run.in_session(state, lambda s: start(run, s), queued_s)

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
