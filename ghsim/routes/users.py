"""People: the authenticated user and public profiles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ghsim.auth import CallerDep
from ghsim.errors import GitHubError, not_found
from ghsim.serialize import Serializer
from ghsim.sim import SimDep

router = APIRouter()


@router.get("/user")
def get_authenticated_user(sim: SimDep, caller: CallerDep) -> dict[str, Any]:
    if caller.kind == "anonymous":
        raise GitHubError(401, "Requires authentication")
    if caller.kind != "user" or caller.user is None:
        raise GitHubError(403, "Resource not accessible by integration")
    return Serializer(sim).private_user(caller.user)


@router.get("/users/{login}")
def get_user(login: str, sim: SimDep) -> dict[str, Any]:
    user = sim.find_user(login)
    if user is None:
        raise not_found()
    return Serializer(sim).public_user(user)
