"""The requirement tree: what the planner produces and the controller works through."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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


@dataclass
class RequirementTree:
    nodes: list[Requirement]
