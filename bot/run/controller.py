"""The run's state machine: deterministic transitions, each one written to the status comment.

PLAN → WAIT_APPROVAL (when asked for) → SETUP → EXECUTE node by node (COMMIT and PUSH each)
→ CHECK (the repo's test command) → PULL_REQUEST → AWAIT_CI, then whatever CI, reviews and
people say (bot/run_followup.py). No model decides the next state. A worker that dies
anywhere resumes from the saved state and the branch's commit trailers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any, Protocol, TypeVar

from bot.agent.llm import LLM, LLMError, Usage
from bot.agent.loop import AgentLimits, Deadline, NodeOutcome, NodeTask, TokenBudget, run_node
from bot.agent.planner import IssueText, PlanError, plan
from bot.agent.repo_map import repo_map
from bot.agent.requirements import NodeStatus, Requirement, RequirementTree
from bot.agent.trajectory import Trajectory
from bot.core.branches import branch_name
from bot.core.feed import RunFeed
from bot.core.inert import neutralise, without_credentials
from bot.core.templates import render
from bot.core.text import cut
from bot.github.workspace import Checkout, Workspace, WorkspaceError
from bot.metrics.timing import NoRunMetrics, RunMetrics, TimedSession
from bot.run.host import RunHost, RunTarget
from bot.run.repo_config import RepoConfig, RepoConfigError, parse_repo_config
from bot.run.report import StatusReport, pull_request_body, pull_request_title, status_report
from bot.run.state import RESTING_PHASES, LocalCheck, Phase, RunState
from bot.run.summary import run_summary
from bot.sandbox.api import Sandbox, SandboxError, Sandboxes, SandboxSession, SandboxSpec

log = logging.getLogger("pilot.controller")

OUTCOME_REASONS = {
    "asked": "The agent asked a question it cannot answer itself.",
    "out_of_steps": "The step budget for this requirement ran out.",
    "out_of_tokens": "The run's token budget ran out.",
    "out_of_time": "This session's time budget (`max_minutes`) ran out.",
    "malformed": "The model kept sending tool calls that could not be used.",
}
STOP_POLL_S = 1.0
# What a question about planning is filed under; answers to it go to the planner.
PLAN_NODE = Requirement("plan", "Plan the work", "Turn the issue into a requirement tree.")
T = TypeVar("T")


class Scheduler(Protocol):
    async def later(self, event: dict[str, Any], key: str, delay_s: float) -> None:
        """Hands `event` back to this run after `delay_s` (the CI time-out)."""
        ...


class StopSignals(Protocol):
    async def stop_requested(self, repo_full_name: str, number: int) -> bool: ...

    async def set_waiting(self, repo_full_name: str, number: int, on: bool) -> None: ...

    async def clear_stop(self, repo_full_name: str, number: int) -> None: ...


@dataclass
class RunDeps:
    """What a run is made with; the worker builds it once, tests build their own."""

    llm: LLM
    sandboxes: Sandboxes
    workspace: Workspace
    runs_dir: Path
    sandbox_image: str
    command_prefix: str = "/pilot"
    trigger_label: str = "pilot"
    force_tools: bool = False
    context_tokens: int = 48_000
    ci_timeout_s: float = 600.0
    scheduler: Scheduler | None = None
    signals: StopSignals | None = None
    feed: RunFeed | None = None
    metrics: RunMetrics = field(default_factory=NoRunMetrics)
    clock: Callable[[], float] = time.time
    extra: dict[str, Any] = field(default_factory=dict)


class Parked(Exception):
    """The run cannot go on without a person (or CI); the state says why."""


class Stopped(Exception):
    """A person stopped the run while it worked."""


@dataclass
class WorkItem:
    """One thing for the agent to do: a tree node, or a fix, a review, an answer."""

    node: Requirement
    notes: Sequence[str] = ()
    park_as: str = "execute"  # what `parked["kind"]` says when the agent cannot finish it


class Controller:
    def __init__(self, deps: RunDeps, host: RunHost, run_id: str, requested_by: str) -> None:
        self.deps = deps
        self.host = host
        self.run_id = run_id
        self.requested_by = requested_by
        self.config = RepoConfig()
        self.target: RunTarget | None = None
        self._trajectory: Trajectory | None = None
        self._stop = False
        self._session_started = deps.clock()

    # entry points ---------------------------------------------------------------------------
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
            )
            await self._clear_stop(state)
        elif state.phase is Phase.QUEUED:
            # A stop flag left by an earlier close of the issue is not meant for this run.
            await self._clear_stop(state)
        if state.phase in RESTING_PHASES:
            log.info("nothing to do", extra={"run": self.run_id, "phase": state.phase.value})
            return state
        return await self._in_session(state, self._start, queued_s)

    async def handle(self, event: dict[str, Any]) -> RunState | None:
        """What CI, a review or a person said; None when the issue has no run."""
        from bot.run import followup as run_followup

        state = await self.host.load_state()
        if state is None:
            return None

        async def work(state: RunState) -> None:
            await run_followup.handle(self, state, event)

        return await self._in_session(state, work, None)

    async def _in_session(
        self,
        state: RunState,
        work: Callable[[RunState], Awaitable[None]],
        queued_s: float | None,
    ) -> RunState:
        self.target = await self.host.target()
        self._session_started = self.deps.clock()
        try:
            self.config = parse_repo_config(await self.host.read_config(self.target.base_branch))
        except RepoConfigError as exc:
            await self._refuse_config(state, exc)
            return state
        feed = self.deps.feed
        sink = (lambda record: feed.event(self.run_id, record)) if feed is not None else None
        trajectory = self._trajectory = Trajectory(self.deps.runs_dir / self.run_id, sink)
        if queued_s is not None:
            trajectory.record(kind="timing", phase="queue", ms=round(queued_s * 1000, 1))
        try:
            async with self._watch_stop(state):
                await work(state)
        except Parked:
            pass
        except Stopped:
            await self.stop(state, f"stopped by a `{self.deps.command_prefix} stop`")
        except LLMError as exc:
            await self.fail(state, "the model could not be reached", str(exc))
        except WorkspaceError as exc:
            await self.fail(state, f"git failed: {exc}", exc.stderr)
        except SandboxError as exc:
            await self.fail(state, "the sandbox failed", str(exc))
        finally:
            trajectory.close()
            if feed is not None:
                await feed.flush()
        return state

    @property
    def repo_full_name(self) -> str:
        assert self.target is not None
        return self.target.key

    # the start path -------------------------------------------------------------------------
    async def _start(self, state: RunState) -> None:
        target = self.target
        assert target is not None
        if not self.config.allows(state.requested_by):
            await self.fail(
                state, f"@{state.requested_by} is not in `allowed_users` of .github/pilot.yml", ""
            )
            return
        state.branch = state.branch or branch_name(target.issue.number, target.issue.title)
        state.base_branch = state.base_branch or target.base_branch
        async with self.checkout(state) as checkout:
            if state.tree is None:
                await self._plan(state, checkout.paths())
            if self.config.plan_approval and not state.approved:
                await self.save(state, Phase.WAIT_APPROVAL)
                return
            tree = RequirementTree.from_state(state.tree or [])
            await self._mark_committed(tree, checkout, state)
            items = _tree_items(tree, state)

            async def then() -> None:
                if checkout.head_sha == checkout.base_tip and state.pr_number is None:
                    # GitHub refuses a pull request without commits; say so instead.
                    await self.fail(
                        state, "the work is done but changed no file: nothing to review", ""
                    )
                    raise Parked
                await self._open_pull(state)

            await self.work(state, checkout, items, tree, check=True, then=then)

    async def _plan(self, state: RunState, paths: list[str]) -> None:
        assert self.target is not None
        issue = self.target.issue
        await self.save(state, Phase.PLAN)
        since = perf_counter()
        trajectory = self._trajectory
        assert trajectory is not None
        answers = state.answers.get(PLAN_NODE.id, [])
        body = "\n\n".join([issue.body, *answers]) if answers else issue.body
        try:
            result = await plan(
                self.deps.llm,
                IssueText(issue.number, issue.title, body),
                repo_map(paths),
                force_tool=self.deps.force_tools,
                on_step=lambda step: trajectory.record(kind="plan", **step),
            )
        except PlanError as exc:
            # The issue may be unclear rather than the model weak: a person can say more.
            await self._spend(state, exc.usage)
            question = (
                "I could not turn this issue into a plan: " + "; ".join(exc.reasons[:5])
                + ". Could you describe the change in a few concrete steps?"
            )  # fmt: skip
            reason = f"No usable plan came out of {exc.attempts} attempt(s)."
            await self.ask(state, PLAN_NODE, reason, question, "plan")
            raise Parked from exc
        self._timing("plan", since)
        await self._spend(state, result.usage)
        state.tree = result.tree.to_state()
        await self.save(state, Phase.PLAN)

    async def _mark_committed(
        self, tree: RequirementTree, checkout: Checkout, state: RunState
    ) -> None:
        """A worker killed after a push but before saving finds the node's commit on the
        branch; a node in progress when it died starts again."""
        committed = {t.get("Pilot-Node") for t in await checkout.trailers_on_branch()}
        for node in tree.nodes:
            if node.id in committed:
                node.status = NodeStatus.DONE
            elif node.status is NodeStatus.IN_PROGRESS:
                node.status = NodeStatus.PENDING
        state.tree = tree.to_state()
        state.head_sha = checkout.head_sha

    async def _open_pull(self, state: RunState) -> None:
        assert self.target is not None and state.branch and state.base_branch
        await self.save(state, Phase.PULL_REQUEST)
        issue = self.target.issue
        summary = f"Issue Pilot's work on #{issue.number}: {neutralise(issue.title)}"
        body = pull_request_body(state, summary, self.config.max_tokens)
        since = perf_counter()
        fresh = state.pr_number is None  # a retry finds its pull request already open
        pull = await self.host.open_pull(
            state.branch, state.base_branch, pull_request_title(issue.title), body
        )
        state.pr_number, state.pr_url = pull.number, pull.url
        self._timing("pull_request", since)
        if fresh:
            await self.deps.metrics.label_to_pr(self.deps.clock() - state.started_at)
        await self.await_ci(state)

    async def await_ci(self, state: RunState) -> None:
        """Waits for CI on the head just pushed; the time-out falls back to the sandbox."""
        state.ci_sha = state.head_sha
        state.ci_pushed_at = self.deps.clock()
        state.ci_attempt += 1
        await self.deps.metrics.ci_attempt()
        await self.save(state, Phase.AWAIT_CI)
        if self.deps.scheduler is not None and state.ci_sha:
            event = {"kind": "ci_timeout", "sha": state.ci_sha}
            key = f"ci_timeout:{state.ci_sha}"
            await self.deps.scheduler.later(event, key, self.deps.ci_timeout_s)

    # doing work in the sandbox ---------------------------------------------------------------
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
        )
        self._timing("fetch", since)
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
            spec, pack=checkout.tree_pack(), commit=checkout.head_sha
        ) as opened:
            yield TimedSession(opened, self.deps.metrics)

    async def work(
        self,
        state: RunState,
        checkout: Checkout,
        items: Callable[[], WorkItem | None],
        tree: RequirementTree | None,
        check: bool = False,
        then: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Runs the agent on each item `items` gives, in one sandbox session, committing and
        pushing each; True when anything was pushed. Parks when an item cannot be finished.
        `then` runs before the sandbox goes: tearing it down is not worth a person's wait."""
        item = items()
        spec = SandboxSpec(
            self.run_id,
            self.config.image or self.deps.sandbox_image,
            prestart="execute" if item is not None else None,
        )
        pushed = False
        since = perf_counter()
        async with self.sandbox_session(spec, checkout) as session:
            self._timing("sandbox", since)
            await self._setup(state, session)
            if item is not None:
                pushed = await self._execute(state, session, checkout, item, items, tree)
            if check:
                await self._check(state, session)
            if then is not None:
                await then()
        return pushed

    async def _setup(self, state: RunState, session: SandboxSession) -> None:
        if not self.config.setup:
            return
        await self.save(state, Phase.SETUP)
        network = self.config.network_during_setup
        async with session.phase("setup", network=network) as sandbox:
            for command in self.config.setup:
                result = await sandbox.run(command)
                if result.exit_code != 0:
                    detail = f"$ {command}\n{cut(result.output, 6000)}"
                    why = "timed out" if result.timed_out else f"exited {result.exit_code}"
                    await self.fail(state, f"the set-up command `{command}` {why}", detail)
                    raise Parked
            # What set-up leaves in the workspace (a venv, build output) is not the agent's work.
            await sandbox.take_patch()

    async def _execute(
        self,
        state: RunState,
        session: SandboxSession,
        checkout: Checkout,
        first: WorkItem,
        items: Callable[[], WorkItem | None],
        tree: RequirementTree | None,
    ) -> bool:
        assert self.target is not None
        author = await self.host.author()
        token = await self.host.git_token()
        limits = AgentLimits(
            max_steps=self.config.max_steps,
            force_tools=self.deps.force_tools,
            context_tokens=self.deps.context_tokens,
        )
        budget = TokenBudget(self.config.max_tokens, _budget_usage(state))
        # Time counts per working session (the first pass, a CI fix, a review, an answer):
        # hours spent waiting for CI or people must not leave the next fix no time at all.
        deadline = Deadline(self._session_started + self.config.max_minutes * 60, self._clock)
        the_map = repo_map(checkout.paths())
        view = tree or RequirementTree([])
        pushed = False
        since = perf_counter()
        async with session.phase("execute") as sandbox:
            self._timing("container", since)
            item: WorkItem | None = first
            while item is not None:
                node = item.node
                self._set_status(state, tree, node, NodeStatus.IN_PROGRESS)
                await self.save(state, Phase.EXECUTE)
                task = NodeTask(
                    issue_number=self.target.issue.number,
                    issue_title=self.target.issue.title,
                    issue_body=self.target.issue.body,
                    node=node,
                    tree=view,
                    repo_map=the_map,
                    setup_commands=list(self.config.setup),
                    test_command=self.config.test,
                    notes=[*item.notes, *state.answers.get(node.id, [])],
                )
                since = perf_counter()
                assert self._trajectory is not None
                outcome = await self._unless_stopped(
                    run_node(
                        self.deps.llm, sandbox, task, limits, budget, deadline, self._trajectory
                    )
                )
                self._timing("agent", since, node=node.id, steps=outcome.steps)
                await self._spend(state, outcome.usage)
                state.steps += outcome.steps
                if self._stop:
                    raise Stopped
                if outcome.kind != "finished":
                    self._set_status(state, tree, node, NodeStatus.BLOCKED)
                    await self.park(state, node, outcome, item.park_as)
                    raise Parked
                if await self._commit(state, node, outcome, sandbox, checkout, author, token):
                    pushed = True
                self._set_status(state, tree, node, NodeStatus.DONE)
                await self.save(state, Phase.EXECUTE)
                item = items()
        return pushed

    async def _spend(self, state: RunState, usage: Usage) -> None:
        """The model's usage, on the run's record and in the workers' counters."""
        state.add_usage(usage)
        await self.deps.metrics.tokens(usage.prompt_tokens, usage.completion_tokens)

    def _set_status(
        self, state: RunState, tree: RequirementTree | None, node: Requirement, status: NodeStatus
    ) -> None:
        node.status = status
        if tree is not None and any(n.id == node.id for n in tree.nodes):
            tree.set_status(node.id, status)
            state.tree = tree.to_state()

    async def _commit(
        self,
        state: RunState,
        node: Requirement,
        outcome: NodeOutcome,
        sandbox: Sandbox,
        checkout: Checkout,
        author: tuple[str, str],
        token: str | None,
    ) -> bool:
        assert self.target is not None
        since = perf_counter()
        patch = await sandbox.take_patch()
        message = f"{node.title}\n\n{outcome.summary}".strip()
        trailers = [("Pilot-Issue", f"#{self.target.issue.number}"), ("Pilot-Node", node.id)]
        sha = await checkout.commit_patch(patch, message, trailers, author)
        self._timing("commit", since, node=node.id)
        if sha is None:
            return False
        # Each node is pushed as it is committed: a worker that dies later loses nothing.
        since = perf_counter()
        await checkout.push(token)
        self._timing("push", since, node=node.id)
        state.head_sha = sha
        return True

    async def _check(self, state: RunState, session: SandboxSession) -> None:
        if not self.config.test:
            return
        await self.save(state, Phase.CHECK)
        since = perf_counter()
        async with session.phase("check") as sandbox:
            result = await sandbox.run(self.config.test)
        self._timing("check", since)
        state.check = LocalCheck.of(self.config.test, result)

    # stopping -------------------------------------------------------------------------------
    def _clock(self) -> float:
        # A stop makes the run's deadline pass: the agent ends its node before the next step.
        return math.inf if self._stop else self.deps.clock()

    async def _unless_stopped(self, work: Awaitable[T]) -> T:
        """Awaits `work`, cancelled as soon as someone stops the run (a model call may take
        minutes; a stop should not)."""
        task = asyncio.ensure_future(work)
        while True:
            done, _ = await asyncio.wait({task}, timeout=STOP_POLL_S)
            if task in done:
                return task.result()
            if self._stop:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
                raise Stopped

    @asynccontextmanager
    async def _watch_stop(self, state: RunState) -> AsyncIterator[None]:
        signals = self.deps.signals
        if signals is None:
            yield
            return

        async def poll() -> None:
            while not self._stop:
                for number in state.numbers:
                    if await signals.stop_requested(self.repo_full_name, number):
                        self._stop = True
                await asyncio.sleep(STOP_POLL_S)

        task = asyncio.create_task(poll())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    # telling people -------------------------------------------------------------------------
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

    async def _clear_stop(self, state: RunState) -> None:
        if self.deps.signals is None:
            return
        target = self.target or await self.host.target()
        for number in state.numbers:
            await self.deps.signals.clear_stop(target.key, number)

    async def stop(self, state: RunState, why: str) -> None:
        await self._clear_stop(state)
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

    def _timing(self, phase: str, since: float, **fields: object) -> None:
        ms = round((perf_counter() - since) * 1000, 1)
        if self._trajectory is not None:
            self._trajectory.record(kind="timing", phase=phase, ms=ms, at=time.time(), **fields)

    def record(self, **fields: object) -> None:
        if self._trajectory is not None:
            self._trajectory.record(**fields)

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
        state.phase = phase
        report = self.report(state, headline)
        await self.host.save_state(state, report)
        log.info("run state", extra={"run": self.run_id, "phase": phase.value})
        if self.deps.feed is not None and self.target is not None:
            summary = run_summary(
                self.run_id, self.target, state, report, self.config, self.deps.clock()
            )
            await self.deps.feed.publish(summary)


def _tree_items(tree: RequirementTree, state: RunState) -> Callable[[], WorkItem | None]:
    def next_item() -> WorkItem | None:
        node = tree.next_pending()
        return WorkItem(node) if node is not None else None

    return next_item


def _budget_usage(state: RunState) -> Usage:
    # After a `retry` the budget counts from there: tokens spent before stay on the record.
    used = max(0, state.budget_tokens_used)
    return Usage(used, 0)
