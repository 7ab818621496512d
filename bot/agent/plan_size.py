"""Plans sized to the issue, pure: a requirement that only writes or updates tests is folded into
the change it tests. Worked on its own, a tests-only step has no code to change (small models then
"finish" having changed nothing, or rewrite the tests until they pass), and the change before it
has no test to show it works."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.agent.requirements import MAX_CRITERIA, MAX_DESCRIPTION, Requirement, RequirementTree

# "Add tests", "Update the unit tests for slugify", "Write a regression test", "Test X".
_TESTS_ONLY = re.compile(
    r"^\s*(?:(?:add|update|write|fix|adjust|extend|create|run|verify)\s+(?:the\s+|a\s+|an\s+)?"
    r"(?:new\s+|unit\s+|regression\s+|missing\s+|existing\s+)*tests?\b|tests?\b|testing\b)",
    re.IGNORECASE,
)
# Work on how tests run ("Testing framework migration", "Update test configuration") has files
# of its own to change, and "Add tests and fix the bug" names its change: neither is folded.
_REAL_WORK = re.compile(
    r"\btest(?:s|ing)?\s+(?:framework|runner|harness|infrastructure|config\w*|set-?up|tooling)\b"
    r"|\band\s+(?:fix|implement|change|refactor|make|handle|support|add)",
    re.IGNORECASE,
)


# What the bot does itself after the plan: commit, push, open the pull request, run the checks.
# A node for it has nothing to change, and "commit and push" invites a small model to try git.
_BOOKKEEPING = re.compile(
    r"^\s*(?:(?:commit|push|stage)(?:\s+(?:the|all|your|these|my))?"
    r"\s+(?:changes?|work|branch|code|commits?|fix|files?|it|them)\b"
    r"|(?:open|create|submit|make)\s+(?:a\s+|the\s+)?(?:pull\s+request|pr|merge\s+request)\b"
    r"|(?:run|execute)\s+(?:the\s+|all\s+)?(?:existing\s+|unit\s+)?(?:tests?|test\s+suite|checks)\b"
    r"|(?:verify|check|confirm|ensure)\s+(?:that\s+)?(?:the\s+|all\s+)?(?:tests?|fix|changes?)\b)",
    re.IGNORECASE,
)


def bookkeeping(node: Requirement) -> bool:
    """A node for what the bot does on its own: committing, pushing, the PR, running tests."""
    return bool(_BOOKKEEPING.match(node.title))


def drop_bookkeeping(tree: RequirementTree) -> RequirementTree:
    """`tree` without bookkeeping nodes, whose dependents inherit their dependencies; a plan of
    nothing else is left as it is."""
    dropped = {node.id: node for node in tree.nodes if bookkeeping(node)}
    if not dropped or len(dropped) == len(tree.nodes):
        return tree

    def through(dep: str, seen: frozenset[str] = frozenset()) -> list[str]:
        if dep not in dropped or dep in seen:
            return [] if dep in dropped else [dep]
        return [d for inner in dropped[dep].depends_on for d in through(inner, seen | {dep})]

    kept = [
        replace(
            node,
            acceptance=list(node.acceptance),
            depends_on=list(dict.fromkeys(d for dep in node.depends_on for d in through(dep))),
        )
        for node in tree.nodes
        if node.id not in dropped
    ]
    return RequirementTree(kept)


def size_plan(tree: RequirementTree) -> RequirementTree:
    """The plan as worked: bookkeeping dropped, tests-only nodes folded into their change."""
    return fold_test_nodes(drop_bookkeeping(tree))


def tests_only(node: Requirement) -> bool:
    """A node whose title says it is about tests alone."""
    return bool(_TESTS_ONLY.match(node.title)) and not _REAL_WORK.search(node.title)


def fold_test_nodes(tree: RequirementTree) -> RequirementTree:
    """`tree` with each tests-only node merged into the node it depends on (or the one before
    it); a plan of tests alone is left as it is: then the tests are the work."""
    # Copies: the caller's tree stays as it was when folding would make a cycle.
    nodes = [
        replace(node, acceptance=list(node.acceptance), depends_on=list(node.depends_on))
        for node in tree.nodes
    ]
    if all(tests_only(node) for node in nodes):
        return tree
    kept: list[Requirement] = []
    merged: dict[str, str] = {}  # folded id -> the id it went into
    for node in nodes:
        host = _host(node, kept, merged)
        if not tests_only(node) or host is None:
            kept.append(node)
            continue
        # Within the plan's limits, or the tree saved in the status comment would not load again.
        also = f"{host.description}\n\nAlso: {node.title}. {node.description}".strip()
        host.description = also[:MAX_DESCRIPTION]
        host.acceptance.extend(c for c in node.acceptance if c not in host.acceptance)
        del host.acceptance[MAX_CRITERIA:]
        merged[node.id] = host.id
    for node in kept:
        node.depends_on = list(
            dict.fromkeys(
                merged.get(dep, dep) for dep in node.depends_on if merged.get(dep, dep) != node.id
            )
        )
    folded = RequirementTree(kept)
    try:
        folded.order()
    except ValueError:  # a host that depended on what depends on the tests: fold nothing
        return tree
    return folded


def _host(node: Requirement, kept: list[Requirement], merged: dict[str, str]) -> Requirement | None:
    by_id = {k.id: k for k in kept}
    for dep in reversed(node.depends_on):
        target = by_id.get(merged.get(dep, dep))
        if target is not None and not tests_only(target):
            return target
    return next((k for k in reversed(kept) if not tests_only(k)), None)
