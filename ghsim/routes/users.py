"""People: the authenticated user and public profiles; ghsim's switch for an account's plan."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from ghsim import plans
from ghsim.auth import ActorDep, CallerDep
from ghsim.errors import GitHubError, not_found, validation_failed
from ghsim.serialize import Serializer
from ghsim.sim import SimDep

router = APIRouter()


class PlanBody(BaseModel):
    name: str


@router.get("/user")
def get_authenticated_user(sim: SimDep, caller: CallerDep) -> dict[str, Any]:
    if caller.kind == "anonymous":
        raise GitHubError(401, "Requires authentication")
    if caller.kind != "user" or caller.user is None:
        raise GitHubError(403, "Resource not accessible by integration")
    user = caller.user
    plan = {
        "name": plans.plan_of(sim, user["id"]),
        "space": 976562499,
        "collaborators": 0,
        "private_repos": 10000,
    }
    return {**Serializer(sim).private_user(user), "plan": plan}


@router.get("/users/{login}")
def get_user(login: str, sim: SimDep) -> dict[str, Any]:
    user = sim.find_user(login)
    if user is None:
        raise not_found()
    return Serializer(sim).public_user(user)


@router.put("/_ghsim/users/{login}/plan", status_code=204)
def set_plan(login: str, body: PlanBody, sim: SimDep, caller: ActorDep) -> Response:
    """ghsim's own switch (GitHub sells plans, it has no endpoint): `{"name": "team"}` puts
    the account (a person or an organization) on that plan. The account itself or the
    site's admin `ghsim` may set it."""
    account = sim.find_user(login)
    if account is None:
        raise not_found()
    if caller.kind != "user" or caller.login not in (account["login"], sim.admin_user["login"]):
        raise GitHubError(403, "Must be the account itself or the site admin")
    if body.name not in plans.PLANS:
        raise validation_failed("Plan", "name", message=f"must be one of {', '.join(plans.PLANS)}")
    plans.set_plan(sim, account["id"], body.name)
    return Response(status_code=204)
