"""The start path: plan the issue into a requirement tree (or ask when no plan comes), wait for
approval when the repo asks for it, work the tree's nodes (and a last `docs` node when the work
changed what the docs describe) and open the pull request. A worker that died anywhere on it
resumes from the saved state and the branch's commit trailers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Protocol

from bot.agent.planner import IssueText, PlanError, plan
from bot.agent.repo_map import repo_map
from bot.agent.requirements import NodeStatus, Requirement, RequirementTree
from bot.core.branches import branch_name
from bot.github.checkout import Checkout
from bot.run.hold_rule import is_held
from bot.run.kernel import Parked, Run
from bot.run.phases.docs import docs_node, docs_notes
from bot.run.phases.hold import HoldHost, decide_once, hold_for_review
from bot.run.phases.pull_request import PullRequestHost, open_pull
from bot.run.phases.work import WorkHost, WorkItem, work
from bot.run.repo_files import read_instructions
from bot.run.shown_files import shown_files_at_head
from bot.run.state import Phase, RunState

# What a question about planning is filed under; answers to it go to the planner.
PLAN_NODE = Requirement("plan", "Plan the work", "Turn the issue into a requirement tree.")


class StartHost(WorkHost, PullRequestHost, HoldHost, Protocol):
    """Planning calls the model, not the host: the start path needs what work and the PR do."""


async def start(run: Run[StartHost], state: RunState) -> None:
    target = run.target
    assert target is not None
    if not run.config.allows(state.requested_by):
        await run.fail(
            state, f"@{state.requested_by} is not in `allowed_users` of .github/pilot.yml", ""
        )
        return
    state.branch = state.branch or branch_name(target.issue.number, target.issue.title)
    state.base_branch = state.base_branch or target.base_branch
    await decide_once(run, state)  # before anything is pushed: the branch or the held ref
    async with run.checkout(state) as checkout:
        if state.tree is None:
            await _plan(
                run, state, checkout, await checkout.paths(), await read_instructions(run, checkout)
            )
        if run.config.plan_approval and not state.approved:
            await run.save(state, Phase.WAIT_APPROVAL)
            return
        tree = RequirementTree.from_state(state.tree or [])
        await _mark_committed(tree, checkout, state)
        items = _tree_items(run, state, checkout, tree)

        async def then() -> None:
            if checkout.head_sha == checkout.base_tip and state.pr_number is None:
                # GitHub refuses a pull request without commits; say so instead.
                await run.fail(state, "the work is done but changed no file: nothing to review", "")
                raise Parked
            if is_held(state):
                await hold_for_review(run, state, checkout)
                return
            await open_pull(run, state)

        await work(run, state, checkout, items, tree, check=True, then=then)


async def _plan(
    run: Run[StartHost], state: RunState, checkout: Checkout, paths: list[str], instructions: str
) -> None:
    assert run.target is not None
    issue = run.target.issue
    await run.save(state, Phase.PLAN)
    since = perf_counter()
    trajectory = run.trajectory
    assert trajectory is not None
    answers = state.answers.get(PLAN_NODE.id, [])
    body = "\n\n".join([issue.body, *answers]) if answers else issue.body
    try:
        result = await plan(
            run.deps.llm,
            IssueText(issue.number, issue.title, body),
            await asyncio.to_thread(repo_map, paths),
            force_tool=run.deps.force_tools,
            max_nodes=run.deps.plan_max_requirements,
            instructions=instructions,
            files=await shown_files_at_head(checkout, paths, f"{issue.title}\n{body}"),
            on_step=lambda step: trajectory.record(kind="plan", **step),
        )
    except PlanError as exc:
        # The issue may be unclear rather than the model weak: a person can say more.
        await run.spend(state, exc.usage)
        question = (
            "I could not turn this issue into a plan: " + "; ".join(exc.reasons[:5])
            + ". Could you describe the change in a few concrete steps?"
        )  # fmt: skip
        reason = f"No usable plan came out of {exc.attempts} attempt(s)."
        await run.ask(state, PLAN_NODE, reason, question, "plan")
        raise Parked from exc
    run.timing("plan", since)
    await run.spend(state, result.usage)
    state.tree = result.tree.to_state()
    await run.save(state, Phase.PLAN)


async def _mark_committed(tree: RequirementTree, checkout: Checkout, state: RunState) -> None:
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


def _tree_items(
    run: Run[StartHost], state: RunState, checkout: Checkout, tree: RequirementTree
) -> Callable[[], Awaitable[WorkItem | None]]:
    async def next_item() -> WorkItem | None:
        # The first pass only: once the plan's nodes are done, the docs catch up with them.
        node = tree.next_pending() or await docs_node(run, state, checkout, tree)
        return WorkItem(node, docs_notes(node)) if node is not None else None

    return next_item
