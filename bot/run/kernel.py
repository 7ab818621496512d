"""The state machine's core, which every phase moves a run through: one working session (its
config, trajectory and stop watch), saving each transition, and the ways a run stops short:
parked on a question, failed, stopped. Imports no phase: the phases import it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from time import perf_counter
from typing import Any, Generic, Protocol, TypeVar

from bot.agent.llm import LLMError, Usage
from bot.agent.loop import NodeOutcome
from bot.agent.requirements import Requirement
from bot.agent.trajectory import Trajectory
from bot.core.ci_index import settled_shas
from bot.core.inert import without_credentials
from bot.core.templates import render
from bot.core.text import cut
from bot.github.api import GitHubApiError
from bot.github.checkout import Checkout
from bot.github.git import WorkspaceError
from bot.run.deps import RunDeps
from bot.run.hold_rule import push_ref
from bot.run.host import RunTarget
from bot.run.issue_text import from_snapshot
from bot.run.lease import LeaseLost
from bot.run.repo_config import RepoConfig, RepoConfigError, parse_repo_config
from bot.run.report import StatusReport, status_report
from bot.run.state import ENDINGS, Phase, RunState
from bot.run.stop_watch import STOP_POLL_S, read_stop, watching
from bot.run.summary import run_summary
from bot.run.timed_session import TimedSession
from bot.sandbox.api import SandboxError, SandboxSession, SandboxSpec

log = logging.getLogger("pilot.controller")

OUTCOME_REASONS = {
    "asked": "The agent asked a question it cannot answer itself.",
    "out_of_steps": "The step budget for this requirement ran out.",
    "out_of_tokens": "The run's token budget ran out.",
    "out_of_time": "This session's time budget (`max_minutes`) ran out.",
    "malformed": "The model kept sending tool calls that could not be used.",
}
T = TypeVar("T")


class Parked(Exception):
    """The run cannot go on without a person (or CI); the state says why."""


class Stopped(Exception):
    """A person stopped the run while it worked."""


class KernelHost(Protocol):
    """The calls the kernel makes on the run's host; each phase's Protocol adds its own."""

    async def target(self) -> RunTarget: ...

    async def save_state(self, state: RunState, report: StatusReport) -> None: ...

    async def post_once(self, key: str, body: str, number: int | None = None) -> None: ...

    async def remove_label(self, name: str) -> None: ...

    async def read_config(self, ref: str) -> str | None: ...

    async def git_token(self) -> str | None: ...


# Covariant: a run on the full RunHost is a run on any narrower host a phase asks for.
H = TypeVar("H", bound=KernelHost, covariant=True)


class Run(Generic[H]):
    """One job's go at a run: what it is made with, and the session it works in."""

    def __init__(self, deps: RunDeps, host: H, run_id: str, requested_by: str) -> None:
        self.deps = deps
        self.host = host
        self.run_id = run_id
        self.requested_by = requested_by
        self.config = RepoConfig()
        self.target: RunTarget | None = None
        self.trajectory: Trajectory | None = None
        self.stop_requested = False
        # An edit of the issue after the label stops the work as a stop does, but the run
        # then waits for a writer's `approve` instead of ending.
        self.pause_requested = False
        # Why a stop came (the stop flag's reason); `pull_closed` leaves the ending to the
        # closed pull request's own event. A lost lease stops the work and saves nothing.
        self.stop_reason = "stop"
        self.lease_lost = False
        self.session_started = deps.clock()
        # CI evidence read before a session was opened (bot/run/controller.py), by sha: the
        # session's CI step uses it rather than reading the same thing twice.
        self.ci_prefetch: dict[str, Any] = {}
        # What the repository's files gave this session (bot/run/repo_files.py): its
        # instructions for agents, read once, and the set-up commands its sandbox ran.
        self.instructions: str | None = None
        self.setup_ran: list[str] = []

    def note(self, **fields: object) -> None:
        """A record in the trajectory without a session: what a job decided from the saved
        state alone, at no cost on GitHub."""
        feed = self.deps.feed
        sink = (lambda record: feed.event(self.run_id, record)) if feed is not None else None
        with Trajectory(self.deps.runs_dir / self.run_id, sink) as trajectory:
            trajectory.record(**fields)

    @property
    def repo_full_name(self) -> str:
        assert self.target is not None
        return self.target.key

    async def in_session(
        self,
        state: RunState,
        work: Callable[[RunState], Awaitable[None]],
        queued_s: float | None,
    ) -> RunState:
        """Runs `work` with the repo's config read, the trajectory open and stops watched;
        whatever it ends in (parked, stopped, failed) is saved before this returns."""
        self.target = from_snapshot(state, await self.host.target())
        self.session_started = self.deps.clock()
        try:
            self.config = parse_repo_config(await self.host.read_config(self.target.base_branch))
        except RepoConfigError as exc:
            await self._refuse_config(state, exc)
            return state
        feed = self.deps.feed
        sink = (lambda record: feed.event(self.run_id, record)) if feed is not None else None
        trajectory = self.trajectory = Trajectory(self.deps.runs_dir / self.run_id, sink)
        if queued_s is not None:
            trajectory.record(kind="timing", phase="queue", ms=round(queued_s * 1000, 1))
        try:
            async with watching(self, state):
                await work(state)
        except Parked:
            pass  # the state is saved already, with the question or the failure
        except Stopped:
            if self.lease_lost:
                raise LeaseLost(self.run_id) from None
            if self.stop_reason == "pull_closed":
                # The closed pull request's event follows (the run's inbox) and ends the run.
                state.working = None
                await self.save(state, state.phase)
            elif self.pause_requested:
                await self.hold_for_edit(state)
            else:
                await self.stop(state, f"stopped by a `{self.deps.command_prefix} stop`")
        except LLMError as exc:
            await self.fail(state, "the model could not be reached", str(exc))
        except WorkspaceError as exc:
            await self.fail(state, f"git failed: {exc}", exc.stderr)
        except SandboxError as exc:
            await self.fail(state, "the sandbox failed", str(exc))
        except GitHubApiError as exc:  # after its retries; a failing fail: run/failsafe.py
            await self.fail(state, f"a GitHub request failed: {exc.what}", exc.message)
        finally:
            trajectory.close()
            if feed is not None:
                await feed.flush()
        return state

    # the checkout and the sandbox ------------------------------------------------------------
    @asynccontextmanager
    async def checkout(self, state: RunState) -> AsyncIterator[Checkout]:
        assert self.target is not None and state.branch and state.base_branch
        since = perf_counter()
        checkout = await self.deps.workspace.checkout(
            self.target.key,
            self.target.remote_url,
            await self.host.git_token(),
            state.base_branch,
            state.branch,
            held_ref=push_ref(state),
        )
        self.timing("fetch", since)
        try:
            yield checkout
        finally:
            checkout.cleanup()

    @asynccontextmanager
    async def sandbox_session(
        self, spec: SandboxSpec, checkout: Checkout
    ) -> AsyncIterator[SandboxSession]:
        """A sandbox holding the checkout's head, whose phases count their container time."""
        async with self.deps.sandboxes.session(
            spec, pack=await checkout.tree_pack(), commit=checkout.head_sha
        ) as opened:
            yield TimedSession(opened, self.deps.metrics)

    async def spend(self, state: RunState, usage: Usage) -> None:
        """The model's usage, on the run's record and in the workers' counters."""
        state.add_usage(usage)
        await self.deps.metrics.tokens(usage.prompt_tokens, usage.completion_tokens)

    # stopping --------------------------------------------------------------------------------
    async def guard(self, state: RunState) -> None:
        """Before a push: raises unless this job still holds the run and nobody stopped it
        (the stop watcher polls once a second; a push must not wait for it)."""
        fence = self.deps.fence
        if fence is not None:
            await fence.check()
        signals = self.deps.signals
        if signals is not None and self.target is not None:
            await read_stop(self, signals, state)
        if self.stop_requested:
            raise Stopped

    def clock(self) -> float:
        # A stop makes the run's deadline pass: the agent ends its node before the next step.
        return math.inf if self.stop_requested else self.deps.clock()

    async def unless_stopped(self, work: Awaitable[T]) -> T:
        """Awaits `work`, cancelled as soon as someone stops the run (a model call may take
        minutes; a stop should not)."""
        task = asyncio.ensure_future(work)
        while True:
            done, _ = await asyncio.wait({task}, timeout=STOP_POLL_S)
            if task in done:
                return task.result()
            if self.stop_requested:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
                raise Stopped

    # telling people --------------------------------------------------------------------------
    async def park(
        self, state: RunState, node: Requirement, outcome: NodeOutcome, kind: str
    ) -> None:
        await self.ask(
            state,
            node,
            OUTCOME_REASONS.get(outcome.kind, outcome.kind),
            outcome.question or outcome.summary or "How should I go on?",
            kind,
        )

    async def ask(
        self, state: RunState, node: Requirement, reason: str, question: str, kind: str
    ) -> None:
        state.question = question
        state.parked = {"kind": kind, "node": node.id, "title": node.title}
        state.working = None  # what it was on is now what it asks about
        body = render(
            "comments/run_question.md.j2",
            requested_by=state.requested_by,
            node_id=node.id,
            node_title=node.title,
            reason=reason,
            question=question,
            prefix=self.deps.command_prefix,
        )
        await self.host.post_once(f"ask-{node.id}-{len(state.handled)}", body, state.pr_number)
        await self._set_waiting(state, True)
        await self.save(state, Phase.ASKED)

    async def _set_waiting(self, state: RunState, on: bool) -> None:
        if self.deps.signals is None:
            return
        for number in state.numbers:
            await self.deps.signals.set_waiting(self.repo_full_name, number, on)

    async def resume(self, state: RunState) -> None:
        """Clears a parked run's question before it goes on."""
        state.question = None
        state.parked = None
        state.error = None
        await self._set_waiting(state, False)

    async def fail(self, state: RunState, reason: str, detail: str) -> None:
        reason, detail = without_credentials(reason), without_credentials(detail)
        state.error = reason
        state.working = None
        body = render(
            "comments/run_failed.md.j2",
            requested_by=state.requested_by,
            reason=reason,
            detail=cut(detail, 4000),
            branch=state.branch,
            prefix=self.deps.command_prefix,
        )
        await self.host.post_once(f"failed-{len(state.handled)}-{state.attempt}", body)
        await self.save(state, Phase.FAILED)

    async def clear_stop(self, state: RunState) -> None:
        if self.deps.signals is None:
            return
        target = self.target or await self.host.target()
        for number in state.numbers:
            await self.deps.signals.clear_stop(target.key, number)

    async def hold_for_edit(self, state: RunState) -> None:
        """Pauses the run where it is: the `edited` event that follows asks about the new
        text, and a writer's `approve` goes on from `paused_from` (what the agent was on,
        `state.working`, is kept to be done again)."""
        if state.phase is not Phase.WAIT_EDIT:
            state.paused_from = state.phase.value
        await self.save(state, Phase.WAIT_EDIT)

    async def stop(self, state: RunState, why: str) -> None:
        await self.clear_stop(state)
        state.outcome = "stopped"
        state.working = None
        state.error = None
        await self._set_waiting(state, False)
        await self.save(state, Phase.STOPPED, headline=f"Stopped: {why}.")
        await self.host.remove_label(self.deps.trigger_label)

    async def _refuse_config(self, state: RunState, exc: RepoConfigError) -> None:
        assert self.target is not None
        body = render(
            "comments/config_invalid.md.j2",
            requested_by=state.requested_by,
            branch=self.target.base_branch,
            problems=exc.problems,
            prefix=self.deps.command_prefix,
        )
        await self.host.post_once(f"config-{state.attempt}", body)
        state.error = "invalid .github/pilot.yml"
        await self.save(state, Phase.FAILED)

    # the record ------------------------------------------------------------------------------
    def timing(self, phase: str, since: float, **fields: object) -> None:
        ms = round((perf_counter() - since) * 1000, 1)
        if self.trajectory is not None:
            self.trajectory.record(kind="timing", phase=phase, ms=ms, at=time.time(), **fields)

    def record(self, **fields: object) -> None:
        if self.trajectory is not None:
            self.trajectory.record(**fields)

    def report(self, state: RunState, headline: str | None = None) -> StatusReport:
        """What the status comment (and `/pilot status`) says about `state`."""
        return status_report(
            state,
            self.deps.command_prefix,
            self.config.max_tokens,
            self.deps.clock(),
            ci_max=self.config.max_ci_attempts + state.ci_extra,
            headline=headline,
        )

    async def save(self, state: RunState, phase: Phase, headline: str | None = None) -> None:
        if phase in ENDINGS and state.phase is not phase:
            state.ended_at = self.deps.clock()
        state.phase = phase
        report = self.report(state, headline)
        await self.host.save_state(state, report)
        if self.deps.ci_index is not None and self.target is not None:
            # After the comment: the index never says more than GitHub's record does.
            issue = self.target.issue.number
            await self.deps.ci_index.settle(self.target.key, issue, settled_shas(state.handled))
        log.info("run state", extra={"run": self.run_id, "phase": phase.value})
        if self.deps.feed is not None and self.target is not None:
            summary = run_summary(
                self.run_id, self.target, state, report, self.config, self.deps.clock()
            )
            await self.deps.feed.publish(summary)
