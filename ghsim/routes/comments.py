"""Issue comments (pull request conversation comments too): create, list, get, edit, delete."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel

from ghsim.auth import ActorDep, CallerDep, comment_to_change
from ghsim.errors import limit_body, validation_failed
from ghsim.paging import paginate, paginate_query
from ghsim.serialize_issues import IssueSerializer
from ghsim.sim import Sim, SimDep
from ghsim.state import now_iso
from ghsim.store import Doc

router = APIRouter()


_Body = Annotated[str, AfterValidator(limit_body("IssueComment"))]


class CommentBody(BaseModel):
    body: _Body


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
    return IssueSerializer(sim).comments(paginate(request, response, comments), rest=True)


@router.get("/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(
    owner: str,
    repo: str,
    comment_id: int,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    comment = sim.in_repo_or_404("comment", sim.repo_or_404(owner, repo), comment_id)
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
    comment, user = comment_to_change(sim, owner, repo, "comment", comment_id, caller)
    previous = comment["body"]
    comment = sim.store.update("comment", comment_id, {"body": body.body, "updated_at": now_iso()})
    _announce(sim, comment, "edited", user, changes={"body": {"from": previous}})
    return IssueSerializer(sim).comment(comment, rest=True)


@router.delete("/repos/{owner}/{repo}/issues/comments/{comment_id}", status_code=204)
def delete_comment(
    owner: str,
    repo: str,
    comment_id: int,
    sim: SimDep,
    caller: ActorDep,
) -> Response:
    comment, user = comment_to_change(sim, owner, repo, "comment", comment_id, caller)
    sim.store.delete("comment", comment_id)
    # The comment still serializes as it was; the issue's comment count has gone down.
    _announce(sim, comment, "deleted", user)
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
    if since:
        comments = sim.store.query("comment", issue_id=issue["id"])
        page = paginate(request, response, [c for c in comments if c["updated_at"] >= since])
    else:
        page = paginate_query(request, response, sim.store, "comment", issue_id=issue["id"])
    return IssueSerializer(sim).comments(page, rest=True)
