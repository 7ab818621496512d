"""The technical writer's place on the start path: once every node of the tree is done, a last
`docs` node when the run changed what the README or docs describe (bot/run/docs_writer.py), so
the docs are updated in the same pull request. Recorded in the tree, so the status comment
shows it and a resumed run finds it."""

from __future__ import annotations

import asyncio
import logging

from bot.agent.requirements import (
    MAX_CRITERIA,
    MAX_DESCRIPTION,
    MAX_NODES,
    Requirement,
    RequirementTree,
)
from bot.core.templates import render
from bot.core.text import cut, decode
from bot.github.checkout import Checkout
from bot.run.docs_writer import DocsNeed, doc_paths, needs_docs
from bot.run.kernel import KernelHost, Run
from bot.run.state import RunState

DOCS_NODE_ID = "docs"

log = logging.getLogger("pilot.runs")


def docs_notes(node: Requirement) -> list[str]:
    """The writer's instructions for the docs node (none for any other node)."""
    return [render("agent/docs_writer.md.j2")] if node.id == DOCS_NODE_ID else []


async def docs_node(
    run: Run[KernelHost], state: RunState, checkout: Checkout, tree: RequirementTree
) -> Requirement | None:
    """The `docs` node, added to `tree` and the state, when the finished work needs one."""
    if run.config.docs == "never" or not tree.all_done():
        return None
    if any(node.id == DOCS_NODE_ID for node in tree.nodes):
        return None  # done already, or the plan has its own docs step
    need = await find_need(checkout)
    run.record(kind="docs_check", facts=need.facts if need else [], docs=need.docs if need else [])
    if need is None:
        return None
    if len(tree.nodes) >= MAX_NODES:
        # A saved tree is re-read with the plan's limits; one node more would not resume.
        log.warning("run %s: the docs need an update but the tree is full", run.run_id)
        return None
    node = _node(need)
    tree.nodes.append(node)
    state.tree = tree.to_state()
    return node


async def find_need(checkout: Checkout) -> DocsNeed | None:
    """What the branch changed that its docs describe, read from the checkout."""
    docs: dict[str, str] = {}
    for path in doc_paths(await checkout.paths()):
        text = await checkout.file_at_head(path)
        if text is not None:
            docs[path] = decode(text)
    if not docs:
        return None
    diff = await checkout.diff_against_base()
    # Off the loop: the regexes over a large diff and many docs take a while.
    return await asyncio.to_thread(needs_docs, diff, docs)


def _node(need: DocsNeed) -> Requirement:
    facts = "\n".join(f"- {fact}" for fact in need.facts)
    description = cut(
        f"The work changed what the docs describe:\n{facts}", MAX_DESCRIPTION - 100
    )  # the head and tail of a long list are kept, with a note of the cut
    acceptance = [f"`{path[:300]}` describes the code as it is now" for path in need.docs]
    if len(acceptance) > MAX_CRITERIA:
        acceptance[MAX_CRITERIA - 1 :] = ["the other doc files named above match the code too"]
    return Requirement(DOCS_NODE_ID, "Update the docs", description, acceptance)
