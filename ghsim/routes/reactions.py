"""Reactions on issues, issue comments and review comments."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ghsim.auth import ActorDep, Caller, CallerDep
from ghsim.errors import GitHubError, not_found
from ghsim.paging import paginate_query
from ghsim.serialize import Serializer
from ghsim.sim import Sim, SimDep
from ghsim.state import now_iso

router = APIRouter()
Content = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]


class ReactionCreate(BaseModel):
    content: Content


def _subject_id(sim: Sim, owner: str, repo: str, subject: str, key: int) -> int:
    found = sim.repo_or_404(owner, repo)
    if subject == "issue":
        return int(sim.issue_or_404(found, key)["id"])
    return int(sim.in_repo_or_404(subject, found, key)["id"])


def _list(
    sim: Sim,
    request: Request,
    response: Response,
    subject: str,
    subject_id: int,
    content: str | None,
) -> list[dict[str, Any]]:
    filters: dict[str, Any] = {"subject": subject, "subject_id": subject_id}
    if content:
        filters["content"] = content
    page = paginate_query(request, response, sim.store, "reaction", **filters)
    return [Serializer(sim).reaction(r) for r in page]


def _create(sim: Sim, subject: str, subject_id: int, content: str, caller: Caller) -> Any:
    assert caller.user is not None
    ser = Serializer(sim)
    with sim.store.transaction():
        existing = sim.store.first(
            "reaction",
            subject=subject,
            subject_id=subject_id,
            user_id=caller.user["id"],
            content=content,
        )
        if existing is not None:
            return JSONResponse(ser.reaction(existing), status_code=200)
        reaction = sim.store.insert(
            "reaction",
            {
                "subject": subject,
                "subject_id": subject_id,
                "user_id": caller.user["id"],
                "content": content,
                "created_at": now_iso(),
            },
        )
    return JSONResponse(ser.reaction(reaction), status_code=201)


def _delete(sim: Sim, subject: str, subject_id: int, reaction_id: int, caller: Caller) -> Response:
    reaction = sim.store.get("reaction", reaction_id)
    if reaction is None or reaction["subject"] != subject or reaction["subject_id"] != subject_id:
        raise not_found()
    assert caller.user is not None
    if reaction["user_id"] != caller.user["id"]:
        raise GitHubError(403, "Must have admin rights to Repository.")
    sim.store.delete("reaction", reaction_id)
    return Response(status_code=204)


# Paths per subject: (route prefix, stored kind); review comments live under /pulls.
_SUBJECTS = [
    ("/repos/{owner}/{repo}/issues/comments/{key}/reactions", "comment"),
    ("/repos/{owner}/{repo}/pulls/comments/{key}/reactions", "review_comment"),
    ("/repos/{owner}/{repo}/issues/{key}/reactions", "issue"),
]


def _register(path: str, subject: str) -> None:
    @router.get(path, name=f"list_{subject}_reactions")
    def list_reactions(
        *,
        owner: str,
        repo: str,
        key: int,
        request: Request,
        response: Response,
        content: Content | None = None,
        sim: SimDep,
        _: CallerDep,
    ) -> list[dict[str, Any]]:
        subject_id = _subject_id(sim, owner, repo, subject, key)
        return _list(sim, request, response, subject, subject_id, content)

    @router.post(path, status_code=201, name=f"create_{subject}_reaction")
    def create_reaction(
        owner: str,
        repo: str,
        key: int,
        body: ReactionCreate,
        sim: SimDep,
        caller: ActorDep,
    ) -> Any:
        subject_id = _subject_id(sim, owner, repo, subject, key)
        return _create(sim, subject, subject_id, body.content, caller)

    @router.delete(path + "/{reaction_id}", status_code=204, name=f"delete_{subject}_reaction")
    def delete_reaction(
        owner: str,
        repo: str,
        key: int,
        reaction_id: int,
        sim: SimDep,
        caller: ActorDep,
    ) -> Response:
        subject_id = _subject_id(sim, owner, repo, subject, key)
        return _delete(sim, subject, subject_id, reaction_id, caller)


for _path, _subject in _SUBJECTS:
    _register(_path, _subject)
