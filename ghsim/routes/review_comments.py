"""Review comments on a pull request's diff: create, reply, list, get, edit, delete."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel

from ghsim import gitrepo
from ghsim.auth import ActorDep, Caller, CallerDep, comment_to_change
from ghsim.errors import GitHubError, limit_body, not_found
from ghsim.paging import paginate_query
from ghsim.review_diff import locate
from ghsim.review_events import announce_comment, announce_review, new_review
from ghsim.routes.pulls import pull_range
from ghsim.serialize_pulls import PullSerializer
from ghsim.sim import Sim, SimDep
from ghsim.state import now_iso
from ghsim.store import Doc

router = APIRouter()


_Body = Annotated[str, AfterValidator(limit_body("PullRequestReviewComment"))]


class ReviewCommentCreate(BaseModel):
    body: _Body
    commit_id: str | None = None
    path: str | None = None
    line: int | None = None
    side: Literal["LEFT", "RIGHT"] = "RIGHT"
    start_line: int | None = None
    start_side: Literal["LEFT", "RIGHT"] | None = None
    position: int | None = None
    in_reply_to: int | None = None
    subject_type: Literal["line", "file"] | None = None


class ReplyCreate(BaseModel):
    body: _Body


class CommentEdit(BaseModel):
    body: _Body


def _thread_error(message: str) -> GitHubError:
    return GitHubError(422, "Unprocessable Entity", [message])


def new_review_comment(
    sim: Sim, repo: Doc, pull: Doc, review_id: int | None, user: Doc, spec: ReviewCommentCreate
) -> Doc:
    """Store a comment on the diff, locating its ``diff_hunk`` in the PR's patch."""
    if spec.in_reply_to is not None:
        parent = sim.store.get("review_comment", spec.in_reply_to)
        if parent is None or parent["pull_id"] != pull["id"]:
            raise not_found()
        fields = {
            k: parent[k]
            for k in (
                "path",
                "line",
                "side",
                "start_line",
                "start_side",
                "commit_id",
                "diff_hunk",
                "position",
            )
        }
        fields["in_reply_to_id"] = parent.get("in_reply_to_id") or parent["id"]
    else:
        if not spec.path:
            raise _thread_error("pull_request_review_thread.path is missing")
        commit_id = spec.commit_id or pull["head_sha"]
        start, _ = pull_range(sim, repo, pull)
        files = {f.filename: f for f in gitrepo.diff(sim.git_dir(repo), start, commit_id)}
        if spec.path not in files:
            raise _thread_error("pull_request_review_thread.path is invalid")
        patch = files[spec.path].patch
        if spec.line is None and spec.position is not None:
            located = _by_position(patch, spec.position)
        elif spec.line is not None:
            located = locate(patch, spec.line, spec.side)
        else:
            located = (patch, 0) if spec.subject_type == "file" else None
        if located is None:
            raise _thread_error("pull_request_review_thread.line must be part of the diff")
        fields = {
            "path": spec.path,
            "line": spec.line,
            "side": spec.side if spec.line else None,
            "start_line": spec.start_line,
            "start_side": (spec.start_side or spec.side) if spec.start_line else None,
            "commit_id": commit_id,
            "diff_hunk": located[0],
            "position": located[1],
            "in_reply_to_id": None,
        }
    now = now_iso()
    return sim.store.insert(
        "review_comment",
        {
            **fields,
            "repo_id": repo["id"],
            "pull_id": pull["id"],
            "pull_number": pull["number"],
            "review_id": review_id,
            "user_id": user["id"],
            "body": spec.body,
            "created_at": now,
            "updated_at": now,
        },
    )


def _by_position(patch: str, position: int) -> tuple[str, int] | None:
    lines = patch.split("\n")
    if not 0 < position < len(lines):
        return None
    start = max(i for i in range(position + 1) if lines[i].startswith("@@"))
    return "\n".join(lines[start : position + 1]), position


def _single_comment(
    sim: Sim, owner: str, repo: str, number: int, caller: Caller, spec: ReviewCommentCreate
) -> dict[str, Any]:
    """A comment outside a review: GitHub wraps it in a one-comment COMMENTED review."""
    found = sim.repo_or_404(owner, repo)
    pull = sim.pull_or_404(found, number)
    assert caller.user is not None
    with sim.store.transaction():
        review = new_review(
            sim, found, pull, caller.user, "COMMENTED", "", spec.commit_id or pull["head_sha"]
        )
        comment = new_review_comment(sim, found, pull, review["id"], caller.user, spec)
    announce_comment(sim, comment, "created", caller.user)
    announce_review(sim, review, caller.user)
    return PullSerializer(sim).review_comment(comment, rest=True)


@router.post("/repos/{owner}/{repo}/pulls/{number}/comments", status_code=201)
def create_review_comment(
    owner: str,
    repo: str,
    number: int,
    body: ReviewCommentCreate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    return _single_comment(sim, owner, repo, number, caller, body)


@router.post("/repos/{owner}/{repo}/pulls/{number}/comments/{comment_id}/replies", status_code=201)
def reply(
    owner: str,
    repo: str,
    number: int,
    comment_id: int,
    body: ReplyCreate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    spec = ReviewCommentCreate(body=body.body, in_reply_to=comment_id)
    return _single_comment(sim, owner, repo, number, caller, spec)


@router.get("/repos/{owner}/{repo}/pulls/comments")
def list_repo_review_comments(
    owner: str,
    repo: str,
    request: Request,
    response: Response,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    page = paginate_query(request, response, sim.store, "review_comment", repo_id=found["id"])
    return PullSerializer(sim).review_comments(page, rest=True)


@router.get("/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def get_review_comment(
    owner: str,
    repo: str,
    comment_id: int,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    comment = sim.in_repo_or_404("review_comment", sim.repo_or_404(owner, repo), comment_id)
    return PullSerializer(sim).review_comment(comment, rest=True)


@router.patch("/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def edit_review_comment(
    owner: str,
    repo: str,
    comment_id: int,
    body: CommentEdit,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    comment, user = comment_to_change(sim, owner, repo, "review_comment", comment_id, caller)
    previous = comment["body"]
    comment = sim.store.update(
        "review_comment", comment_id, {"body": body.body, "updated_at": now_iso()}
    )
    announce_comment(sim, comment, "edited", user, changes={"body": {"from": previous}})
    return PullSerializer(sim).review_comment(comment, rest=True)


@router.delete("/repos/{owner}/{repo}/pulls/comments/{comment_id}", status_code=204)
def delete_review_comment(
    owner: str,
    repo: str,
    comment_id: int,
    sim: SimDep,
    caller: ActorDep,
) -> Response:
    comment, user = comment_to_change(sim, owner, repo, "review_comment", comment_id, caller)
    announce_comment(sim, comment, "deleted", user)
    sim.store.delete("review_comment", comment_id)
    return Response(status_code=204)


@router.get("/repos/{owner}/{repo}/pulls/{number}/comments")
def list_review_comments(
    owner: str,
    repo: str,
    number: int,
    request: Request,
    response: Response,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    pull = sim.pull_or_404(sim.repo_or_404(owner, repo), number)
    page = paginate_query(request, response, sim.store, "review_comment", pull_id=pull["id"])
    return PullSerializer(sim).review_comments(page, rest=True)
