"""The agent at work in one sandbox session: the repo's set-up, then each item (a tree node, a CI
fix, a review, an answer) run by the agent, committed and pushed, then the repo's test command."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Protocol

from bot.agent.llm import Usage
from bot.agent.loop import AgentLimits, Deadline, NodeOutcome, TokenBudget
from bot.agent.repo_map import repo_map
from bot.agent.requirements import NodeStatus, PlanRejected, Requirement, RequirementTree
from bot.agent.task import NodeTask
from bot.core.text import cut
from bot.github.checkout import Checkout, WorkflowChange
from bot.run.candidates import Attempts
from bot.run.kernel import KernelHost, Parked, Run
from bot.run.phases.test_guard import count_base, count_into
from bot.run.repo_files import read_instructions, session_setup
from bot.run.setup_detect import failure_reason
from bot.run.shown_files import shown_files
from bot.run.state import LocalCheck, Phase, RunState
from bot.run.work_context import (
    DoneWork,
    branch_diff,
    done_on_branch,
    earlier_entries,
    readable_diff,
    reproduction_note,
)
from bot.sandbox.api import SandboxSession, SandboxSpec


class WorkHost(KernelHost, Protocol):
    async def author(self) -> tuple[str, str]: ...


@dataclass
class WorkItem:
    """One thing for the agent to do: a tree node, or a fix, a review, an answer."""

    node: Requirement
    notes: Sequence[str] = ()
    # What `parked["kind"]` says when the agent cannot finish it; None: an extra the run goes
    # on without (its work is not committed).
    park_as: str | None = "execute"
    branch_diff: str = ""  # the branch's diff against the base branch, for a follow-up


# Where the next item comes from; it may look at the branch first (the start path's docs node).
Items = Callable[[], WorkItem | Awaitable[WorkItem | None] | None]


async def next_item(items: Items) -> WorkItem | None:
    item = items()
    return await item if inspect.isawaitable(item) else item


async def work(
    run: Run[WorkHost],
    state: RunState,
    checkout: Checkout,
    items: Items,
    tree: RequirementTree | None,
    check: bool = False,
    then: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """Runs the agent on each item `items` gives, in one sandbox session, committing and
    pushing each; True when anything was pushed. Parks when an item cannot be finished.
    `then` runs before the sandbox goes: tearing it down is not worth a person's wait.
    With `check`, the test command runs after the items, and a failure gets one fix."""
    item = await next_item(items)
    spec = SandboxSpec(
        run.run_id,
        run.config.image or run.deps.sandbox_image,
        prestart="execute" if item is not None else None,
    )
    pushed = False
    since = perf_counter()
    async with run.sandbox_session(spec, checkout) as session:
        run.timing("sandbox", since)
        await _setup(run, state, session, checkout)
        if item is not None:
            pushed = await _execute(run, state, session, checkout, item, items, tree)
        if check:
            await _check(run, state, session)
            if await _fix_check(run, state, session, checkout, tree):
                pushed = True
                await _check(run, state, session)
        if then is not None:
            await then()
    return pushed


async def iterate(
    run: Run[WorkHost],
    state: RunState,
    node: Requirement,
    notes: list[str],
    park_as: str,
    restore_to: str | None = None,
) -> bool:
    """One agent pass on the branch's head after the pull request; True when it pushed a
    commit. Recorded in the state first, so a worker that dies during it does it again, not
    twice."""
    if node.id.startswith("ci-"):
        state.iterations = max(state.iterations, node_number(node.id))
    state.working = {
        "node": node.id,
        "title": node.title,
        "description": node.description,
        "acceptance": node.acceptance,
        "notes": notes,
        "park_as": park_as,
        "restore_to": restore_to,
    }
    await run.save(state, Phase.EXECUTE)
    assert run.target is not None
    tree = saved_tree(state)
    async with run.checkout(state) as checkout:
        done = {t.get("Pilot-Node") for t in await checkout.trailers_on_branch()}
        if node.id in done:
            state.head_sha = checkout.head_sha
            state.working = None
            return True
        author = await run.host.author()
        pushed = False
        if restore_to and f"{node.id}-restore" not in done:
            trailers = [("Pilot-Issue", f"#{state.issue}"), ("Pilot-Node", f"{node.id}-restore")]
            message = f"Go back to the files of {restore_to[:7]}, the best CI result so far"
            if await checkout.restore(restore_to, message, trailers, author):
                await run.guard(state)
                await checkout.push(await run.host.git_token())
                state.head_sha = checkout.head_sha
                pushed = True
        # After the restore: the agent sees the files it will work on. The run clone borrows
        # the mirror's whole history of every branch, so the merge base is there to diff from.
        diff = branch_diff(await checkout.diff_against_base())
        items = [WorkItem(node, notes, park_as, diff)]
        if await work(run, state, checkout, lambda: items.pop() if items else None, tree):
            pushed = True
    state.working = None
    return pushed


def saved_tree(state: RunState) -> RequirementTree | None:
    """The run's plan as the state keeps it; None without one, or when the block was edited
    into something that is no tree (a fix goes on without the plan rather than not at all)."""
    if not state.tree:
        return None
    try:
        return RequirementTree.from_state(state.tree)
    except PlanRejected:
        return None


def node_number(node_id: str) -> int:
    """The number in `ci-3` or `review-12`; 0 for anything else."""
    tail = node_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def _setup(
    run: Run[WorkHost], state: RunState, session: SandboxSession, checkout: Checkout
) -> None:
    run.setup_ran = commands = await session_setup(run, state, checkout)
    if not commands:
        return
    await run.save(state, Phase.SETUP)
    network = run.config.network_during_setup
    async with session.phase("setup", network=network) as sandbox:
        for command in commands:
            result = await sandbox.run(command)
            if result.exit_code != 0:
                detail = f"$ {command}\n{cut(result.output, 6000)}"
                why = "timed out" if result.timed_out else f"exited {result.exit_code}"
                reason = f"the set-up command `{command}` {why}"
                if not run.config.setup_given:
                    reason = failure_reason(command, why)
                await run.fail(state, reason, detail)
                raise Parked
        # What set-up leaves in the workspace (a venv, build output) is not the agent's work.
        await sandbox.take_patch()


async def _execute(
    run: Run[WorkHost],
    state: RunState,
    session: SandboxSession,
    checkout: Checkout,
    first: WorkItem,
    items: Items,
    tree: RequirementTree | None,
) -> bool:
    assert run.target is not None
    author = await run.host.author()
    token = await run.host.git_token()
    limits = AgentLimits(
        max_steps=run.config.max_steps,
        force_tools=run.deps.force_tools,
        require_tool=run.deps.require_tool,
        context_tokens=run.deps.context_tokens,
        drafts=run.deps.drafts,
        workflows_read_only=run.config.workflows != "allowed",
    )
    budget = _budget(run, state)
    deadline = _deadline(run)
    # Off the loop: on a repository of 200,000 files the map costs a quarter of a second.
    paths = await checkout.paths()
    the_map = await asyncio.to_thread(repo_map, paths)
    done: list[DoneWork] | None = None  # what the plan's finished requirements did
    pushed = False
    since = perf_counter()
    async with session.phase("execute") as sandbox:
        run.timing("container", since)
        base = await count_base(run, state, checkout, sandbox)
        reproduced = reproduction_note(run.config.test or "", base)
        item: WorkItem | None = first
        while item is not None:
            node = item.node
            plan_node = tree is not None and any(n.id == node.id for n in tree.nodes)
            if tree is not None and plan_node and done is None:
                done = await done_on_branch(checkout, tree)
            _set_status(state, tree, node, NodeStatus.IN_PROGRESS)
            await run.save(state, Phase.EXECUTE)
            task = NodeTask(
                issue_number=run.target.issue.number,
                issue_title=run.target.issue.title,
                issue_body=run.target.issue.body,
                node=node,
                tree=_view(tree, node),
                repo_map=the_map,
                setup_commands=list(run.setup_ran),
                instructions=await read_instructions(run, checkout),
                test_command=run.config.test,
                notes=[
                    *([reproduced] if reproduced and item is first else []),
                    *item.notes,
                    *state.answers.get(node.id, []),
                ],
                earlier=earlier_entries(done) if plan_node and done else (),
                branch_diff=item.branch_diff,
                files=await shown_files(
                    sandbox,
                    paths,
                    f"{run.target.issue.title}\n{run.target.issue.body}\n{node.description}",
                ),
                tests_before=base if item is first else None,
            )
            # One candidate, or several scored by tests (`attempts`): the best is committed.
            attempts = Attempts(run, state, checkout, task, limits, budget, deadline)
            choice = await attempts.choose(sandbox)
            outcome = choice.outcome
            if outcome.kind != "finished":
                if item.park_as is None:
                    # The workspace holds its unfinished work: nothing more is worked on it.
                    run.record(kind="dropped", node=node.id, outcome=outcome.kind)
                    break
                _set_status(state, tree, node, NodeStatus.BLOCKED)
                await run.park(state, node, outcome, item.park_as)
                raise Parked
            # Taken here, not in `_commit`: the next requirement is told what this one did.
            patch = choice.patch if choice.patch is not None else await sandbox.take_patch()
            try:
                if await _commit(run, state, node, outcome, checkout, author, token, patch):
                    pushed = True
            except WorkflowChange as change:
                if item.park_as is None:
                    run.record(kind="dropped", node=node.id, outcome="workflow_change")
                    break
                _set_status(state, tree, node, NodeStatus.BLOCKED)
                await ask_workflow_change(run, state, node, change, item.park_as)
                raise Parked from change
            await choice.settle(sandbox, checkout)
            _set_status(state, tree, node, NodeStatus.DONE)
            await run.save(state, Phase.EXECUTE)
            if plan_node and done is not None:
                done.append(DoneWork(node.id, node.title, outcome.summary, readable_diff(patch)))
            item = await next_item(items)
    return pushed


def _view(tree: RequirementTree | None, node: Requirement) -> RequirementTree:
    """The plan as the prompt lists it: a follow-up (the local check's fix, a CI fix, a
    review) comes after the plan's requirements, marked as the one being worked."""
    nodes = list(tree.nodes) if tree is not None else []
    if all(n.id != node.id for n in nodes):
        nodes.append(node)
    return RequirementTree(nodes)


def _budget(run: Run[WorkHost], state: RunState) -> TokenBudget:
    return TokenBudget(run.config.max_tokens, _budget_usage(state))


def _deadline(run: Run[WorkHost]) -> Deadline:
    # Time counts per working session (the first pass, a CI fix, a review, an answer):
    # hours spent waiting for CI or people must not leave the next fix no time at all.
    return Deadline(run.session_started + run.config.max_minutes * 60, run.clock)


def _set_status(
    state: RunState, tree: RequirementTree | None, node: Requirement, status: NodeStatus
) -> None:
    node.status = status
    if tree is not None and any(n.id == node.id for n in tree.nodes):
        tree.set_status(node.id, status)
        state.tree = tree.to_state()


async def _commit(
    run: Run[WorkHost],
    state: RunState,
    node: Requirement,
    outcome: NodeOutcome,
    checkout: Checkout,
    author: tuple[str, str],
    token: str | None,
    patch: bytes,
) -> bool:
    """Commits and pushes the node's work, `patch`: a chosen candidate's, or what the
    sandbox changed since the last commit."""
    assert run.target is not None
    since = perf_counter()
    message = f"{node.title}\n\n{outcome.summary}".strip()
    trailers = [("Pilot-Issue", f"#{run.target.issue.number}"), ("Pilot-Node", node.id)]
    read_only = run.config.workflows != "allowed"
    sha = await checkout.commit_patch(patch, message, trailers, author, read_only)
    run.timing("commit", since, node=node.id)
    if sha is None:
        return False
    # Each node is pushed as it is committed: a worker that dies later loses nothing.
    since = perf_counter()
    await run.guard(state)  # nothing goes out after a stop, a merge or a lost lease
    await checkout.push(token)
    run.timing("push", since, node=node.id)
    state.head_sha = sha
    return True


async def ask_workflow_change(
    run: Run[WorkHost], state: RunState, node: Requirement, change: WorkflowChange, kind: str
) -> None:
    """The work changes workflow files, which GitHub refuses from this App: people decide
    (the change was not pushed; nothing of it reaches the branch)."""
    files = ", ".join(f"`{path}`" for path in change.paths) or "a file in `.github/workflows/`"
    prefix = run.deps.command_prefix
    await run.ask(
        state,
        node,
        f"The work changes {files}. GitHub refuses a push that changes workflow files from an "
        "App without the `workflows` permission, so nothing of this step was pushed.",
        "Could a maintainer make the workflow change on the branch? Then answer "
        f"`{prefix} continue`, or answer `{prefix} continue <hint>` to have me do the "
        "rest without touching workflow files.",
        kind,
    )


async def _check(run: Run[WorkHost], state: RunState, session: SandboxSession) -> None:
    if not run.config.test:
        return
    await run.save(state, Phase.CHECK)
    since = perf_counter()
    async with session.phase("check") as sandbox:
        result = await sandbox.run(run.config.test)
    run.timing("check", since)
    state.check = LocalCheck.of(run.config.test, result)
    count_into(state, "head", result.output, state.head_sha)


CHECK_FIX_ID = "check-1"


async def _fix_check(
    run: Run[WorkHost],
    state: RunState,
    session: SandboxSession,
    checkout: Checkout,
    tree: RequirementTree | None,
) -> bool:
    """One agent item when the test command fails after the plan's work, before the pull
    request opens, while tokens and time remain; True when it pushed a commit. Once per run:
    recorded in the state before it starts (a worker that dies during it opens the pull
    request on restart instead of trying again), and by its commit's trailer (should the
    state's save have been lost with the worker)."""
    failed = state.check
    if failed is None or failed.passed or state.check_fixed:
        return False
    if checkout.head_sha == checkout.base_tip:
        return False  # the work changed nothing: the failure is the base branch's, not ours
    if CHECK_FIX_ID in {t.get("Pilot-Node") for t in await checkout.trailers_on_branch()}:
        return False
    if _budget(run, state).exhausted or _deadline(run).expired:
        run.record(kind="check_fix", skipped="no tokens or time left")
        return False
    state.check_fixed = True  # saved with the item's first save, before the agent works
    run.record(kind="check_fix", command=failed.command, exit_code=failed.exit_code)
    why = "timed out" if failed.timed_out else f"exit {failed.exit_code}"
    node = Requirement(
        CHECK_FIX_ID,
        "Make the test command pass",
        "The repository's test command fails on the branch now that the plan's requirements "
        "are done; its output is in the notes. Fix the cause in the code without deleting, "
        "skipping or weakening any test.",
        [f"`{failed.command}` passes"],
    )
    note = (
        "The test command failed after the plan's requirements were done:\n"
        f"$ {failed.command} ({why})\n{failed.output_tail}"
    )
    diff = branch_diff(await checkout.diff_against_base())
    item = WorkItem(node, [note], park_as=None, branch_diff=diff)
    return await _execute(run, state, session, checkout, item, lambda: None, tree)


def _budget_usage(state: RunState) -> Usage:
    # After a `retry` the budget counts from there: tokens spent before stay on the record.
    used = max(0, state.budget_tokens_used)
    return Usage(used, 0)
