"""Who may start or steer a run (pure)."""

from __future__ import annotations

STEERING_ROLES = frozenset({"admin", "maintain", "write"})


def may_steer(role: str) -> bool:
    return role in STEERING_ROLES
