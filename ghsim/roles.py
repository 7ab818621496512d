"""Repository roles, weakest first, and the collaborator permissions each one includes.

Pure data and arithmetic, below both ``auth`` (which decides a caller's role) and the
serializers (which show a role's ``permissions`` object).
"""

from __future__ import annotations

ROLES = ["read", "triage", "write", "maintain", "admin"]
# GitHub's collaborator permissions with the role each one is.
ROLE_OF_PERMISSION = {
    "pull": "read",
    "triage": "triage",
    "push": "write",
    "maintain": "maintain",
    "admin": "admin",
}


def at_least(role: str, minimum: str) -> bool:
    """``role`` may also be ``"none"`` (an installation token kept off a private repo)."""
    return role != "none" and ROLES.index(role) >= ROLES.index(minimum)


def permission_flags(role: str) -> dict[str, bool]:
    """GitHub's ``permissions`` object for a role: each collaborator permission it includes."""
    return {permission: at_least(role, needed) for permission, needed in ROLE_OF_PERMISSION.items()}
