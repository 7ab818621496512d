"""Collaborators and their permission (the bot's authorization check relies on it)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel

from ghsim.auth import ActorDep, CallerDep, require_role, role_of
from ghsim.errors import GitHubError, not_found
from ghsim.paging import paginate
from ghsim.roles import permission_flags
from ghsim.serialize import Serializer
from ghsim.sim import Sim, SimDep
from ghsim.state import now_iso
from ghsim.store import Doc

router = APIRouter()
_PERMISSION_OF_ROLE = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}


class CollaboratorAdd(BaseModel):
    permission: Literal["pull", "triage", "push", "maintain", "admin"] = "push"


def _collaborator(sim: Sim, repo: Doc, user: Doc) -> dict[str, Any]:
    role = role_of(sim, repo, user)
    return {**Serializer(sim).user(user), "role_name": role, "permissions": permission_flags(role)}


@router.put("/repos/{owner}/{repo}/collaborators/{username}", status_code=201)
def add_collaborator(
    *,
    owner: str,
    repo: str,
    username: str,
    body: Annotated[CollaboratorAdd | None, Body()] = None,
    sim: SimDep,
    caller: ActorDep,
) -> Any:
    body = body or CollaboratorAdd()
    found = sim.repo_or_404(owner, repo)
    require_role(sim, found, caller, "admin")
    user = sim.ensure_user(username)
    if user["id"] == found["owner_id"]:
        raise GitHubError(422, "Repository owner cannot be a collaborator")
    existing = sim.store.first("collaborator", repo_id=found["id"], user_id=user["id"])
    if existing is not None:
        sim.store.update("collaborator", existing["id"], {"permission": body.permission})
        return Response(status_code=204)
    # GitHub sends an invitation; ghsim's people accept at once.
    invite = sim.store.insert(
        "collaborator",
        {
            "repo_id": found["id"],
            "user_id": user["id"],
            "permission": body.permission,
            "created_at": now_iso(),
        },
    )
    ser = Serializer(sim)
    inviter = caller.user or sim.bot_user
    return {
        "id": invite["id"],
        "node_id": ser.node("RepositoryInvitation", invite["id"]),
        "repository": ser.repository(found),
        "invitee": ser.user(user),
        "inviter": ser.user(inviter),
        "permissions": {"pull": "read", "push": "write"}.get(body.permission, body.permission),
        "created_at": invite["created_at"],
        "expired": False,
        "url": f"{sim.config.api_url}/user/repository_invitations/{invite['id']}",
        "html_url": f"{sim.config.base_url}/{found['full_name']}/invitations",
    }


@router.delete("/repos/{owner}/{repo}/collaborators/{username}", status_code=204)
def remove_collaborator(
    owner: str,
    repo: str,
    username: str,
    sim: SimDep,
    caller: ActorDep,
) -> Response:
    found = sim.repo_or_404(owner, repo)
    require_role(sim, found, caller, "admin")
    user = sim.find_user(username)
    existing = user and sim.store.first("collaborator", repo_id=found["id"], user_id=user["id"])
    if existing:
        sim.store.delete("collaborator", existing["id"])
    return Response(status_code=204)


@router.get("/repos/{owner}/{repo}/collaborators")
def list_collaborators(
    owner: str,
    repo: str,
    request: Request,
    response: Response,
    sim: SimDep,
    _: ActorDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    people = [sim.user(found["owner_id"])] if sim.user(found["owner_id"])["type"] == "User" else []
    people += [sim.user(c["user_id"]) for c in sim.store.query("collaborator", repo_id=found["id"])]
    return [_collaborator(sim, found, u) for u in paginate(request, response, people)]


@router.get("/repos/{owner}/{repo}/collaborators/{username}", status_code=204)
def check_collaborator(
    owner: str,
    repo: str,
    username: str,
    sim: SimDep,
    _: ActorDep,
) -> Response:
    found = sim.repo_or_404(owner, repo)
    user = sim.find_user(username)
    if user is None or (
        role_of(sim, found, user) == "read"
        and not sim.store.first("collaborator", repo_id=found["id"], user_id=user["id"])
    ):
        raise not_found()
    return Response(status_code=204)


@router.get("/repos/{owner}/{repo}/collaborators/{username}/permission")
def get_permission(
    owner: str,
    repo: str,
    username: str,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    user = sim.find_user(username)
    if user is None:
        raise GitHubError(404, f"{username} is not a user")
    role = role_of(sim, found, user)
    return {
        "permission": _PERMISSION_OF_ROLE[role],
        "role_name": role,
        "user": _collaborator(sim, found, user),
    }
