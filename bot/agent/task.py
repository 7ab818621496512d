"""What the agent is told about its requirement: the task and how it is rendered for the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.agent.requirements import Requirement, RequirementTree
from bot.core.templates import render
from bot.sandbox.api import CommandResult


@dataclass(frozen=True)
class NodeTask:
    issue_number: int
    issue_title: str
    issue_body: str
    node: Requirement
    tree: RequirementTree
    repo_map: str
    setup_commands: Sequence[str] = ()
    test_command: str | None = None
    notes: Sequence[str] = ()  # answers from people, CI failures to fix: context for this node
    # The repository's own instructions for agents (AGENTS.md and the like), already bounded.
    instructions: str = ""
    # What earlier requirements of this run did: their summaries and diffs, already bounded.
    earlier: Sequence[str] = ()
    # The branch's diff against the base branch, for CI fixes and reviews (already bounded).
    branch_diff: str = ""
    # Files shown up front, (path, numbered text): the ones the issue names, in small repos.
    files: Sequence[tuple[str, str]] = ()
    # The test command's run on this workspace before the node, when the run already has it
    # (the base's tests, before the first requirement): drafts need not run it again.
    tests_before: CommandResult | None = None


def tree_view(tree: RequirementTree, current: str) -> str:
    """One line per node with its status; the node being worked on is marked."""
    marks = {"done": "x", "in_progress": "~", "blocked": "!", "pending": " "}
    return "\n".join(
        f"- [{marks.get(str(node.status), ' ')}] {node.id}: {node.title} ({node.status})"
        + ("  <- this one" if node.id == current else "")
        for node in tree.nodes
    )


def render_task(task: NodeTask) -> str:
    return render(
        "agent/task.md.j2",
        issue_number=task.issue_number,
        issue_title=task.issue_title,
        issue_body=task.issue_body,
        node=task.node,
        tree=tree_view(task.tree, task.node.id),
        repo_map=task.repo_map,
        setup_commands=list(task.setup_commands),
        test_command=task.test_command,
        notes=list(task.notes),
        instructions=task.instructions,
        earlier=list(task.earlier),
        branch_diff=task.branch_diff,
        files=list(task.files),
    )
