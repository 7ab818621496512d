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
from bot.agent.loop import AgentLimits, Deadline, NodeOutcome, NodeTask, TokenBudget
from bot.agent.repo_map import repo_map
from bot.agent.requirements import NodeStatus, Requirement, RequirementTree
from bot.core.text import cut
from bot.github.checkout import Checkout, WorkflowChange
from bot.run.candidates import Attempts
from bot.run.kernel import KernelHost, Parked, Run
from bot.run.state import LocalCheck, Phase, RunState
from bot.sandbox.api import Sandbox, SandboxSession, SandboxSpec


class WorkHost(KernelHost, Protocol):
    async def author(self) -> tuple[str, str]: ...


@dataclass
class WorkItem:
    """One thing for the agent to do: a tree node, or a fix, a review, an answer."""

    node: Requirement
    notes: Sequence[str] = ()
    park_as: str = "execute"  # what `parked["kind"]` says when the agent cannot finish it


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
    `then` runs before the sandbox goes: tearing it down is not worth a person's wait."""
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
        await _setup(run, state, session)
        if item is not None:
            pushed = await _execute(run, state, session, checkout, item, items, tree)
        if check:
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
        items = [WorkItem(node, notes, park_as)]
        if await work(run, state, checkout, lambda: items.pop() if items else None, None):
            pushed = True
    state.working = None
    return pushed


def node_number(node_id: str) -> int:
    """The number in `ci-3` or `review-12`; 0 for anything else."""
    tail = node_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def _setup(run: Run[WorkHost], state: RunState, session: SandboxSession) -> None:
    if not run.config.setup:
        return
    await run.save(state, Phase.SETUP)
    network = run.config.network_during_setup
    async with session.phase("setup", network=network) as sandbox:
        for command in run.config.setup:
            result = await sandbox.run(command)
            if result.exit_code != 0:
                detail = f"$ {command}\n{cut(result.output, 6000)}"
                why = "timed out" if result.timed_out else f"exited {result.exit_code}"
                await run.fail(state, f"the set-up command `{command}` {why}", detail)
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
        context_tokens=run.deps.context_tokens,
        workflows_read_only=run.config.workflows != "allowed",
    )
    budget = TokenBudget(run.config.max_tokens, _budget_usage(state))
    # Time counts per working session (the first pass, a CI fix, a review, an answer):
    # hours spent waiting for CI or people must not leave the next fix no time at all.
    deadline = Deadline(run.session_started + run.config.max_minutes * 60, run.clock)
    # Off the loop: on a repository of 200,000 files the map costs a quarter of a second.
    the_map = await asyncio.to_thread(repo_map, await checkout.paths())
    view = tree or RequirementTree([])
    pushed = False
    since = perf_counter()
    async with session.phase("execute") as sandbox:
        run.timing("container", since)
        item: WorkItem | None = first
        while item is not None:
            node = item.node
            _set_status(state, tree, node, NodeStatus.IN_PROGRESS)
            await run.save(state, Phase.EXECUTE)
            task = NodeTask(
                issue_number=run.target.issue.number,
                issue_title=run.target.issue.title,
                issue_body=run.target.issue.body,
                node=node,
                tree=view,
                repo_map=the_map,
                setup_commands=list(run.config.setup),
                test_command=run.config.test,
                notes=[*item.notes, *state.answers.get(node.id, [])],
            )
            # One candidate, or several scored by tests (`attempts`): the best is committed.
            attempts = Attempts(run, state, checkout, task, limits, budget, deadline)
            choice = await attempts.choose(sandbox)
            outcome = choice.outcome
            if outcome.kind != "finished":
                _set_status(state, tree, node, NodeStatus.BLOCKED)
                await run.park(state, node, outcome, item.park_as)
                raise Parked
            try:
                if await _commit(
                    run, state, node, outcome, sandbox, checkout, author, token, choice.patch
                ):
                    pushed = True
            except WorkflowChange as change:
                _set_status(state, tree, node, NodeStatus.BLOCKED)
                await ask_workflow_change(run, state, node, change, item.park_as)
                raise Parked from change
            await choice.settle(sandbox, checkout)
            _set_status(state, tree, node, NodeStatus.DONE)
            await run.save(state, Phase.EXECUTE)
            item = await next_item(items)
    return pushed


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
    sandbox: Sandbox,
    checkout: Checkout,
    author: tuple[str, str],
    token: str | None,
    patch: bytes | None = None,
) -> bool:
    """Commits and pushes the node's work: `patch` (a chosen candidate's), or else what the
    sandbox changed since the last commit."""
    assert run.target is not None
    since = perf_counter()
    if patch is None:
        patch = await sandbox.take_patch()
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


def _budget_usage(state: RunState) -> Usage:
    # After a `retry` the budget counts from there: tokens spent before stay on the record.
    used = max(0, state.budget_tokens_used)
    return Usage(used, 0)
