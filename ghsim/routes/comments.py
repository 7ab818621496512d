"""Issue comments (pull request conversation comments too): create, list, get, edit, delete."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ghsim.auth import ROLES, ActorDep, Caller, CallerDep, caller_role
from ghsim.errors import GitHubError, not_found, validation_failed
from ghsim.paging import paginate
from ghsim.serialize_issues import IssueSerializer
from ghsim.sim import Sim, SimDep, now_iso
from ghsim.store import Doc

router = APIRouter()


class CommentBody(BaseModel):
    body: str


def _announce(sim: Sim, comment: Doc, action: str, sender: Doc, **extra: Any) -> None:
    ser = IssueSerializer(sim)
    issue = sim.store.get("issue", comment["issue_id"])
    assert issue is not None
    repo = sim.repo(comment["repo_id"])
    sim.webhooks.emit(
        "issue_comment",
        {
            "action": action,
            "issue": ser.issue(issue),
            "comment": ser.comment(comment),
            **extra,
        },
        repo["full_name"],
        sender,
    )


def _comment_or_404(sim: Sim, repo: Doc, comment_id: int) -> Doc:
    comment = sim.store.get("comment", comment_id)
    if comment is None or comment["repo_id"] != repo["id"]:
        raise not_found()
    return comment


def _may_change(sim: Sim, repo: Doc, comment: Doc, caller: Caller) -> None:
    assert caller.user is not None
    if comment["user_id"] != caller.user["id"] and ROLES.index(
        caller_role(sim, repo, caller)
    ) < ROLES.index("write"):
        raise GitHubError(403, "Must have push access to repository")


@router.post("/repos/{owner}/{repo}/issues/{number}/comments", status_code=201)
def create_comment(
    owner: str,
    repo: str,
    number: int,
    body: CommentBody,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    issue = sim.issue_or_404(found, number)
    assert caller.user is not None
    if not body.body.strip():
        raise validation_failed("IssueComment", "body", "missing_field")
    now = now_iso()
    comment = sim.store.insert(
        "comment",
        {
            "repo_id": found["id"],
            "issue_id": issue["id"],
            "issue_number": number,
            "on_pr": issue["is_pr"],
            "user_id": caller.user["id"],
            "body": body.body,
            "created_at": now,
            "updated_at": now,
        },
    )
    sim.store.update("issue", issue["id"], {"updated_at": now})
    _announce(sim, comment, "created", caller.user)
    return IssueSerializer(sim).comment(comment, rest=True)


@router.get("/repos/{owner}/{repo}/issues/comments")
def list_repo_comments(
    *,
    owner: str,
    repo: str,
    request: Request,
    response: Response,
    sort: Literal["created", "updated"] = "created",
    direction: Literal["asc", "desc"] = "asc",
    since: str | None = None,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    comments = sim.store.query("comment", repo_id=found["id"])
    if since:
        comments = [c for c in comments if c["updated_at"] >= since]
    key = "updated_at" if sort == "updated" else "created_at"
    comments.sort(key=lambda c: (c[key], c["id"]), reverse=direction == "desc")
    ser = IssueSerializer(sim)
    return [ser.comment(c, rest=True) for c in paginate(request, response, comments)]


@router.get("/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(
    owner: str,
    repo: str,
    comment_id: int,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    comment = _comment_or_404(sim, sim.repo_or_404(owner, repo), comment_id)
    return IssueSerializer(sim).comment(comment, rest=True)


@router.patch("/repos/{owner}/{repo}/issues/comments/{comment_id}")
def update_comment(
    owner: str,
    repo: str,
    comment_id: int,
    body: CommentBody,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    comment = _comment_or_404(sim, found, comment_id)
    _may_change(sim, found, comment, caller)
    assert caller.user is not None
    previous = comment["body"]
    comment = sim.store.update("comment", comment_id, {"body": body.body, "updated_at": now_iso()})
    _announce(sim, comment, "edited", caller.user, changes={"body": {"from": previous}})
    return IssueSerializer(sim).comment(comment, rest=True)


@router.delete("/repos/{owner}/{repo}/issues/comments/{comment_id}", status_code=204)
def delete_comment(
    owner: str,
    repo: str,
    comment_id: int,
    sim: SimDep,
    caller: ActorDep,
) -> Response:
    found = sim.repo_or_404(owner, repo)
    comment = _comment_or_404(sim, found, comment_id)
    _may_change(sim, found, comment, caller)
    assert caller.user is not None
    payload_comment = IssueSerializer(sim).comment(comment)
    sim.store.delete("comment", comment_id)
    issue = sim.store.get("issue", comment["issue_id"])
    assert issue is not None
    sim.webhooks.emit(
        "issue_comment",
        {
            "action": "deleted",
            "issue": IssueSerializer(sim).issue(issue),
            "comment": payload_comment,
        },
        found["full_name"],
        caller.user,
    )
    return Response(status_code=204)


@router.get("/repos/{owner}/{repo}/issues/{number}/comments")
def list_issue_comments(
    *,
    owner: str,
    repo: str,
    number: int,
    request: Request,
    response: Response,
    since: str | None = None,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    issue = sim.issue_or_404(found, number)
    comments = sim.store.query("comment", issue_id=issue["id"])
    if since:
        comments = [c for c in comments if c["updated_at"] >= since]
    ser = IssueSerializer(sim)
    return [ser.comment(c, rest=True) for c in paginate(request, response, comments)]
