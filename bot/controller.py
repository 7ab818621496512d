"""The run's state machine: deterministic transitions, each one written to the status comment.

PLAN → WAIT_APPROVAL (when asked for) → SETUP → EXECUTE node by node (COMMIT and PUSH each)
→ CHECK (the repo's test command) → PULL_REQUEST → AWAIT_CI. No model decides the next state.
A worker that dies anywhere resumes from the saved state and the branch's commit trailers.
"""

from __future__ import annotations

import logging
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from bot.agent import AgentLimits, Deadline, NodeOutcome, NodeTask, TokenBudget, run_node
from bot.llm import LLM, LLMError
from bot.observations import cut
from bot.planner import IssueText, PlanError, plan
from bot.repo_config import RepoConfig, RepoConfigError, parse_repo_config
from bot.repo_map import repo_map
from bot.requirements import NodeStatus, Requirement, RequirementTree
from bot.run_host import RunHost, RunTarget
from bot.run_report import pull_request_body, pull_request_title, status_report
from bot.run_state import RESTING_PHASES, LocalCheck, Phase, RunState, branch_name
from bot.sandbox import Sandbox, Sandboxes, SandboxSession, SandboxSpec
from bot.templates import render
from bot.trajectory import Trajectory
from bot.workspace import Checkout, Workspace

log = logging.getLogger("pilot.controller")

_OUTCOME_REASONS = {
    "asked": "The agent asked a question it cannot answer itself.",
    "out_of_steps": "The step budget for this requirement ran out.",
    "out_of_tokens": "The run's token budget ran out.",
    "out_of_time": "The run's time budget ran out.",
    "malformed": "The model kept sending tool calls that could not be used.",
}


@dataclass
class RunDeps:
    """What a run is made with; the worker builds it once, tests build their own."""

    llm: LLM
    sandboxes: Sandboxes
    workspace: Workspace
    runs_dir: Path
    sandbox_image: str
    command_prefix: str = "/pilot"
    force_tools: bool = False
    clock: Callable[[], float] = time.time


class Parked(Exception):
    """The run cannot go on without a person; the state says why."""


class Controller:
    def __init__(self, deps: RunDeps, host: RunHost, run_id: str, requested_by: str) -> None:
        self.deps = deps
        self.host = host
        self.run_id = run_id
        self.requested_by = requested_by
        self.config = RepoConfig()

    async def run(self) -> RunState:
        target = await self.host.target()
        state = await self.host.load_state() or RunState(target.issue.number, self.requested_by)
        if state.phase in RESTING_PHASES:
            log.info("nothing to do", extra={"run": self.run_id, "phase": state.phase.value})
            return state
        text = await self.host.read_config(target.base_branch)
        try:
            self.config = parse_repo_config(text)
        except RepoConfigError as exc:
            await self._refuse_config(state, target, exc)
            return state
        trajectory = Trajectory(self.deps.runs_dir / self.run_id)
        try:
            await self._advance(state, target, trajectory)
        except Parked:
            pass
        except LLMError as exc:
            await self._fail(state, "the model could not be reached", str(exc))
        except PlanError as exc:
            await self._fail(state, "no usable plan came out of the issue", str(exc))
        finally:
            trajectory.close()
        return state

    async def _advance(self, state: RunState, target: RunTarget, trajectory: Trajectory) -> None:
        budget = TokenBudget(self.config.max_tokens, state.usage)
        deadline = Deadline(state.started_at + self.config.max_minutes * 60, self.deps.clock)
        state.branch = state.branch or branch_name(target.issue.number, target.issue.title)
        state.base_branch = state.base_branch or target.base_branch
        checkout = await self.deps.workspace.checkout(
            target.key,
            target.remote_url,
            await self.host.git_token(),
            state.base_branch,
            state.branch,
        )
        try:
            tree_tar = checkout.tree_tar()
            if state.tree is None:
                await self._plan(state, target, tree_tar, budget, trajectory)
            if self.config.plan_approval and not state.approved:
                await self._save(state, Phase.WAIT_APPROVAL)
                return
            tree = RequirementTree.from_state(state.tree or [])
            await self._mark_committed(tree, checkout, state)
            spec = SandboxSpec(self.run_id, self.config.image or self.deps.sandbox_image)
            async with self.deps.sandboxes.session(spec, tree_tar) as session:
                await self._setup(state, session)
                await self._execute(
                    state, target, tree, session, checkout, budget, deadline, trajectory, tree_tar
                )
                await self._check(state, session)
            await self._open_pull(state, target)
        finally:
            checkout.cleanup()

    async def _plan(
        self,
        state: RunState,
        target: RunTarget,
        tree_tar: bytes,
        budget: TokenBudget,
        trajectory: Trajectory,
    ) -> None:
        await self._save(state, Phase.PLAN)
        issue = IssueText(target.issue.number, target.issue.title, target.issue.body)
        result = await plan(
            self.deps.llm,
            issue,
            repo_map(_paths(tree_tar)),
            force_tool=self.deps.force_tools,
            on_step=lambda step: trajectory.record(kind="plan", **step),
        )
        state.add_usage(result.usage)
        budget.add(result.usage)
        state.tree = result.tree.to_state()
        await self._save(state, Phase.PLAN)

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

    async def _setup(self, state: RunState, session: SandboxSession) -> None:
        if not self.config.setup:
            return
        await self._save(state, Phase.SETUP)
        network = self.config.network_during_setup
        async with session.phase("setup", network=network) as sandbox:
            for command in self.config.setup:
                result = await sandbox.run(command)
                if result.exit_code != 0:
                    detail = f"$ {command}\n{cut(result.output, 6000)}"
                    why = "timed out" if result.timed_out else f"exited {result.exit_code}"
                    await self._fail(state, f"the set-up command `{command}` {why}", detail)
                    raise Parked
            # What set-up leaves in the workspace (a venv, build output) is not the agent's work.
            await sandbox.take_patch()

    async def _execute(
        self,
        state: RunState,
        target: RunTarget,
        tree: RequirementTree,
        session: SandboxSession,
        checkout: Checkout,
        budget: TokenBudget,
        deadline: Deadline,
        trajectory: Trajectory,
        tree_tar: bytes,
    ) -> None:
        if tree.next_pending() is None:
            return
        author = await self.host.author()
        token = await self.host.git_token()
        limits = AgentLimits(max_steps=self.config.max_steps, force_tools=self.deps.force_tools)
        the_map = repo_map(_paths(tree_tar))
        async with session.phase("execute") as sandbox:
            while (node := tree.next_pending()) is not None:
                tree.set_status(node.id, NodeStatus.IN_PROGRESS)
                state.tree = tree.to_state()
                await self._save(state, Phase.EXECUTE)
                task = NodeTask(
                    issue_number=target.issue.number,
                    issue_title=target.issue.title,
                    issue_body=target.issue.body,
                    node=node,
                    tree=tree,
                    repo_map=the_map,
                    setup_commands=list(self.config.setup),
                    test_command=self.config.test,
                )
                outcome = await run_node(
                    self.deps.llm, sandbox, task, limits, budget, deadline, trajectory
                )
                state.add_usage(outcome.usage)
                state.steps += outcome.steps
                if outcome.kind != "finished":
                    tree.set_status(node.id, NodeStatus.BLOCKED)
                    state.tree = tree.to_state()
                    await self._park(state, node, outcome)
                    raise Parked
                await self._commit(state, target, node, outcome, sandbox, checkout, author, token)
                tree.set_status(node.id, NodeStatus.DONE)
                state.tree = tree.to_state()
                await self._save(state, Phase.EXECUTE)

    async def _commit(
        self,
        state: RunState,
        target: RunTarget,
        node: Requirement,
        outcome: NodeOutcome,
        sandbox: Sandbox,
        checkout: Checkout,
        author: tuple[str, str],
        token: str | None,
    ) -> None:
        patch = await sandbox.take_patch()
        message = f"{node.title}\n\n{outcome.summary}".strip()
        trailers = [("Pilot-Issue", f"#{target.issue.number}"), ("Pilot-Node", node.id)]
        sha = await checkout.commit_patch(patch, message, trailers, author)
        if sha is None:
            return
        # Each node is pushed as it is committed: a worker that dies later loses nothing.
        await checkout.push(token)
        state.head_sha = sha

    async def _check(self, state: RunState, session: SandboxSession) -> None:
        if not self.config.test:
            return
        await self._save(state, Phase.CHECK)
        async with session.phase("check") as sandbox:
            result = await sandbox.run(self.config.test)
        state.check = LocalCheck(
            self.config.test, result.exit_code, result.timed_out, cut(result.output, 3000)
        )

    async def _open_pull(self, state: RunState, target: RunTarget) -> None:
        await self._save(state, Phase.PULL_REQUEST)
        assert state.branch is not None and state.base_branch is not None
        summary = f"Issue Pilot's work on #{target.issue.number}: {target.issue.title}"
        body = pull_request_body(state, summary, self.config.max_tokens)
        pull = await self.host.open_pull(
            state.branch, state.base_branch, pull_request_title(target.issue.title), body
        )
        state.pr_number, state.pr_url = pull.number, pull.url
        await self._save(state, Phase.AWAIT_CI)

    async def _park(self, state: RunState, node: Requirement, outcome: NodeOutcome) -> None:
        question = outcome.question or outcome.summary or "How should I go on?"
        state.question = question
        body = render(
            "comments/run_question.md.j2",
            requested_by=state.requested_by,
            node_id=node.id,
            node_title=node.title,
            reason=_OUTCOME_REASONS.get(outcome.kind, outcome.kind),
            question=question,
            prefix=self.deps.command_prefix,
        )
        await self.host.post_once(f"ask-{node.id}-{state.attempt}", body)
        await self._save(state, Phase.ASKED)

    async def _fail(self, state: RunState, reason: str, detail: str) -> None:
        state.error = reason
        body = render(
            "comments/run_failed.md.j2",
            requested_by=state.requested_by,
            reason=reason,
            detail=cut(detail, 4000),
            branch=state.branch,
            prefix=self.deps.command_prefix,
        )
        await self.host.post_once(f"failed-{state.attempt}", body)
        await self._save(state, Phase.FAILED)

    async def _refuse_config(
        self, state: RunState, target: RunTarget, exc: RepoConfigError
    ) -> None:
        body = render(
            "comments/config_invalid.md.j2",
            requested_by=state.requested_by,
            branch=target.base_branch,
            problems=exc.problems,
            prefix=self.deps.command_prefix,
        )
        await self.host.post_once(f"config-{state.attempt}", body)
        state.error = "invalid .github/pilot.yml"
        await self._save(state, Phase.FAILED)

    async def _save(self, state: RunState, phase: Phase) -> None:
        state.phase = phase
        report = status_report(
            state, self.deps.command_prefix, self.config.max_tokens, self.deps.clock()
        )
        await self.host.save_state(state, report)
        log.info("run state", extra={"run": self.run_id, "phase": phase.value})


def _paths(tree_tar: bytes) -> list[str]:
    with tarfile.open(fileobj=BytesIO(tree_tar)) as tar:
        return [m.name.removeprefix("./") for m in tar.getmembers() if m.isfile()]
