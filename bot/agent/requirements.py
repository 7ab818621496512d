"""The requirement tree: what the planner produces and the controller works through."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.core.inert import neutralise

# Ids end up in commit trailers (`Pilot-Node: <id>`) and branch-side bookkeeping.
ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,32}")
MAX_NODES = 20
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_CRITERIA = 10
MAX_CRITERION = 500
# Rendered titles are cut here; the full title stays in the state block.
CHECKLIST_TITLE_CHARS = 100
# Deeper dependency chains are drawn at this depth, with an explicit "after" note.
CHECKLIST_MAX_DEPTH = 3


class NodeStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"


@dataclass
class Requirement:
    id: str
    title: str
    description: str
    acceptance: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    status: NodeStatus = NodeStatus.PENDING


class PlanRejected(ValueError):
    """A plan (or a saved state) that is not a usable tree; `reasons` say exactly why."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class RequirementTree:
    nodes: list[Requirement]

    @classmethod
    def from_plan(cls, data: object) -> RequirementTree:
        """The tree from `submit_plan` arguments; PlanRejected lists every problem at once."""
        return cls(_parse_plan(data))

    @classmethod
    def from_state(cls, state: Sequence[Mapping[str, Any]]) -> RequirementTree:
        """The inverse of `to_state`; a state that is not a valid tree raises PlanRejected."""
        tree = cls.from_plan({"requirements": state})
        bad = []
        for node, raw in zip(tree.nodes, state, strict=True):
            try:
                node.status = NodeStatus(raw.get("status", NodeStatus.PENDING))
            except ValueError:
                bad.append(f"{node.id}: unknown status {raw.get('status')!r}")
        if bad:
            raise PlanRejected(bad)
        return tree

    def to_state(self) -> list[dict[str, Any]]:
        """JSON-able nodes for the status comment's state block; the run resumes from them."""
        return [
            {
                "id": n.id,
                "title": n.title,
                "status": n.status.value,
                "depends_on": list(n.depends_on),
                "acceptance": list(n.acceptance),
                "description": n.description,
            }
            for n in self.nodes
        ]

    def get(self, node_id: str) -> Requirement:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def set_status(self, node_id: str, status: NodeStatus | str) -> None:
        self.get(node_id).status = NodeStatus(status)

    def order(self) -> list[Requirement]:
        """Dependency order; among nodes that are ready at the same time, plan order wins."""
        placed: set[str] = set()
        ordered: list[Requirement] = []
        remaining = list(self.nodes)
        while remaining:
            ready = next((n for n in remaining if placed.issuperset(n.depends_on)), None)
            if ready is None:
                raise ValueError("the tree has a cycle or an unknown dependency")
            ordered.append(ready)
            placed.add(ready.id)
            remaining.remove(ready)
        return ordered

    def next_pending(self) -> Requirement | None:
        for node in self.order():
            if node.status is NodeStatus.PENDING and all(
                self.get(dep).status is NodeStatus.DONE for dep in node.depends_on
            ):
                return node
        return None

    def all_done(self) -> bool:
        return all(n.status is NodeStatus.DONE for n in self.nodes)

    def render_checklist(self) -> str:
        """A GitHub task list; each node sits under the dependency finished last before it."""
        ordered = self.order()
        position = {n.id: i for i, n in enumerate(ordered)}
        children: dict[str | None, list[Requirement]] = {}
        for node in ordered:
            parent = max(node.depends_on, key=position.__getitem__, default=None)
            children.setdefault(parent, []).append(node)

        lines: list[str] = []
        # shown_parent[d] is the node most recently drawn at depth d, i.e. what depth d+1 hangs on.
        shown_parent: list[str] = []

        def draw(node: Requirement, depth: int) -> None:
            depth = min(depth, CHECKLIST_MAX_DEPTH)
            del shown_parent[depth:]
            implied = shown_parent[depth - 1] if depth else None
            lines.append("  " * depth + _checklist_line(node, implied))
            shown_parent.append(node.id)
            for child in children.get(node.id, []):
                draw(child, depth + 1)

        for root in children.get(None, []):
            draw(root, 0)
        return "\n".join(lines)


_MARKERS = {NodeStatus.IN_PROGRESS: " ⏳ in progress", NodeStatus.BLOCKED: " ⛔ blocked"}


def _checklist_line(node: Requirement, implied_dep: str | None) -> str:
    box = "[x]" if node.status is NodeStatus.DONE else "[ ]"
    line = f"- {box} **{neutralise(node.id)}** {neutralise(node.title, CHECKLIST_TITLE_CHARS)}"
    others = [d for d in node.depends_on if d != implied_dep]
    if others:
        line += " (after " + ", ".join(f"**{neutralise(d)}**" for d in others) + ")"
    return line + _MARKERS.get(node.status, "")


def _parse_plan(data: object) -> list[Requirement]:
    if not isinstance(data, Mapping):
        raise PlanRejected(["the arguments must be a JSON object with a `requirements` list"])
    raw = data.get("requirements")
    if not isinstance(raw, list):
        raise PlanRejected(["`requirements` must be a list of requirement objects"])
    if not raw:
        raise PlanRejected(["the plan is empty: give at least one requirement"])
    if len(raw) > MAX_NODES:
        raise PlanRejected(
            [f"too many requirements: {len(raw)} (at most {MAX_NODES}); merge the smaller steps"]
        )

    reasons: list[str] = []
    nodes = [_parse_node(i, item, reasons) for i, item in enumerate(raw, 1)]
    seen: dict[str, int] = {}
    for i, node in enumerate(nodes, 1):
        if not node.id:
            continue
        if node.id in seen:
            reasons.append(f"duplicate id {node.id!r} (requirements #{seen[node.id]} and #{i})")
        seen.setdefault(node.id, i)
    for node in nodes:
        for dep in node.depends_on:
            if dep == node.id:
                reasons.append(f"{node.id!r} depends on itself")
            elif dep not in seen:
                reasons.append(f"{node.id!r} depends on unknown id {dep!r}")
    reasons.extend(
        f"dependency cycle: {' -> '.join(c)} (each depends on the next)" for c in _cycles(nodes)
    )
    if reasons:
        raise PlanRejected(reasons)
    return nodes


def _parse_node(index: int, item: object, reasons: list[str]) -> Requirement:
    if not isinstance(item, Mapping):
        reasons.append(f"requirement #{index} must be an object")
        return Requirement(id=f"#{index}", title="", description="")
    node_id = item.get("id")
    where = f"requirement {node_id!r}" if isinstance(node_id, str) else f"requirement #{index}"

    def text(key: str, limit: int) -> str:
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            reasons.append(f"{where}: `{key}` is missing or blank")
            return ""
        if len(value) > limit:
            reasons.append(f"{where}: `{key}` is {len(value)} characters (at most {limit})")
        return value.strip()

    node_id = text("id", MAX_TITLE)
    if node_id and not ID_PATTERN.fullmatch(node_id):
        reasons.append(f"{where}: id must be 1-32 letters, digits, '.', '_' or '-' (like R1)")
    title = text("title", MAX_TITLE)
    description = text("description", MAX_DESCRIPTION)

    acceptance = item.get("acceptance")
    if not isinstance(acceptance, list) or not acceptance:
        reasons.append(f"{where}: `acceptance` must be a non-empty list of checkable criteria")
        acceptance = []
    elif len(acceptance) > MAX_CRITERIA:
        reasons.append(f"{where}: {len(acceptance)} acceptance criteria (at most {MAX_CRITERIA})")
    if not all(isinstance(c, str) and c.strip() for c in acceptance):
        reasons.append(f"{where}: every acceptance criterion must be a non-blank string")
    elif any(len(c) > MAX_CRITERION for c in acceptance):
        reasons.append(f"{where}: an acceptance criterion is over {MAX_CRITERION} characters")

    # A model with nothing to depend on often leaves the key out; that is not worth a retry.
    depends_on = item.get("depends_on", [])
    if depends_on is None:
        depends_on = []
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        reasons.append(f"{where}: `depends_on` must be a list of requirement ids")
        depends_on = []
    return Requirement(
        id=node_id,
        title=title,
        description=description,
        acceptance=[c.strip() for c in acceptance if isinstance(c, str)],
        depends_on=list(dict.fromkeys(d.strip() for d in depends_on)),
    )


def _cycles(nodes: list[Requirement]) -> list[list[str]]:
    """Each distinct cycle once, as a closed path (A -> B -> A); self-loops are reported apart."""
    edges = {n.id: [d for d in n.depends_on if d != n.id] for n in nodes}
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []
    found: list[list[str]] = []
    seen_sets: set[frozenset[str]] = set()

    def visit(node_id: str) -> None:
        state[node_id] = 1
        path.append(node_id)
        for dep in edges.get(node_id, []):
            if dep not in edges:
                continue
            if state.get(dep) == 1:
                cycle = path[path.index(dep) :]
                if frozenset(cycle) not in seen_sets:
                    seen_sets.add(frozenset(cycle))
                    found.append([*cycle, dep])
            elif dep not in state:
                visit(dep)
        path.pop()
        state[node_id] = 2

    for node in nodes:
        if node.id not in state:
            visit(node.id)
    return found
