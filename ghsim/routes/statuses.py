"""Commit statuses: create one (emits `status`), list them, and the combined status of a ref."""

from __future__ import annotations

import base64
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ghsim.auth import ActorDep, require_role
from ghsim.ci.shapes import CIShapes
from ghsim.git_refs import branches, read_commit
from ghsim.paging import paginate
from ghsim.routes.commit_ref import commit_sha
from ghsim.routes.refs import short_branch
from ghsim.serialize import Serializer
from ghsim.sim import Sim, SimDep
from ghsim.state import now_iso
from ghsim.store import Doc

router = APIRouter()
# The combined state: any failure or error wins, then any pending, success only when all are.
_COMBINED_ORDER = ("error", "failure", "pending", "success")


class StatusCreate(BaseModel):
    state: Literal["error", "failure", "pending", "success"]
    target_url: str | None = None
    description: str | None = None
    context: str = "default"


def status_json(
    ser: Serializer, status: Doc, repo: Doc, with_creator: bool = True
) -> dict[str, Any]:
    api = f"{ser.api}/repos/{repo['full_name']}"
    creator = ser.user_by_id(status["creator_id"])
    out: dict[str, Any] = {
        "url": f"{api}/statuses/{status['sha']}",
        "avatar_url": None if creator is None else creator["avatar_url"],
        "id": status["id"],
        "node_id": ser.node("StatusContext", status["id"]),
        "state": status["state"],
        "description": status["description"],
        "target_url": status["target_url"],
        "context": status["context"],
        "created_at": status["created_at"],
        "updated_at": status["updated_at"],
    }
    if with_creator:
        out["creator"] = creator
    return out


def _commit_json(sim: Sim, repo: Doc, sha: str) -> dict[str, Any]:
    commit = read_commit(sim.git_dir(repo), sha)
    api = f"{sim.config.api_url}/repos/{repo['full_name']}"
    web = f"{sim.config.base_url}/{repo['full_name']}"
    return {
        "sha": sha,
        "node_id": base64.b64encode(f"Commit:{repo['id']}:{sha}".encode()).decode(),
        "commit": {
            "author": {
                "name": commit.author_name,
                "email": commit.author_email,
                "date": commit.author_date,
            },
            "committer": {
                "name": commit.committer_name,
                "email": commit.committer_email,
                "date": commit.committer_date,
            },
            "message": commit.message,
            "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
            "url": f"{api}/git/commits/{sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
            },
        },
        "url": f"{api}/commits/{sha}",
        "html_url": f"{web}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "author": None,
        "committer": None,
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{web}/commit/{p}"}
            for p in commit.parents
        ],
    }


def _branches_at(sim: Sim, repo: Doc, sha: str) -> list[dict[str, Any]]:
    heads = branches(sim.git_dir(repo)).items()
    return [short_branch(sim, repo, name, target) for name, target in heads if target == sha]


@router.post("/repos/{owner}/{repo}/statuses/{sha}", status_code=201)
def create_status(
    owner: str, repo: str, sha: str, body: StatusCreate, caller: ActorDep, sim: SimDep
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    require_role(sim, found, caller, "write")
    full_sha = commit_sha(sim, found, sha)
    now = now_iso()
    assert caller.user is not None
    status = sim.store.insert(
        "status",
        {
            "repo_id": found["id"],
            "sha": full_sha,
            "state": body.state,
            "target_url": body.target_url,
            "description": body.description,
            "context": body.context,
            "creator_id": caller.user["id"],
            "created_at": now,
            "updated_at": now,
        },
    )
    ser = Serializer(sim)
    shaped = status_json(ser, status, found, with_creator=False)
    sim.webhooks.emit(
        "status",
        {
            "id": status["id"],
            "sha": full_sha,
            "name": found["full_name"],
            "target_url": body.target_url,
            "context": body.context,
            "description": body.description,
            "state": body.state,
            "commit": _commit_json(sim, found, full_sha),
            "branches": _branches_at(sim, found, full_sha),
            "created_at": now,
            "updated_at": now,
            "avatar_url": shaped["avatar_url"],
        },
        found["full_name"],
        caller.user,
    )
    return status_json(ser, status, found)


@router.get("/repos/{owner}/{repo}/commits/{ref:path}/statuses")
def list_statuses(
    owner: str, repo: str, ref: str, request: Request, response: Response, sim: SimDep
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    statuses = sim.store.query(
        "status", order="-id", repo_id=found["id"], sha=commit_sha(sim, found, ref)
    )
    ser = Serializer(sim)
    return [status_json(ser, s, found) for s in paginate(request, response, statuses)]


@router.get("/repos/{owner}/{repo}/commits/{ref:path}/status")
def combined_status(
    owner: str, repo: str, ref: str, request: Request, response: Response, sim: SimDep
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    sha = commit_sha(sim, found, ref)
    latest: dict[str, Doc] = {}
    for status in sim.store.query("status", repo_id=found["id"], sha=sha):
        latest[status["context"]] = status
    states = {s["state"] for s in latest.values()}
    state = next((s for s in _COMBINED_ORDER if s in states), "pending")
    if state == "error":
        state = "failure"
    ser = Serializer(sim)
    api = f"{ser.api}/repos/{found['full_name']}"
    page = paginate(request, response, sorted(latest.values(), key=lambda s: s["id"]))
    return {
        "state": state,
        "sha": sha,
        "total_count": len(latest),
        "statuses": [status_json(ser, s, found, with_creator=False) for s in page],
        "repository": CIShapes(ser).minimal_repository(found["id"]),
        "commit_url": f"{api}/commits/{sha}",
        "url": f"{api}/commits/{sha}/status",
    }
