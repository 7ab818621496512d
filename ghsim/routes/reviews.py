"""Pull request reviews: submit (approve, request changes, comment, with inline comments)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel

from ghsim.auth import ActorDep, CallerDep
from ghsim.errors import GitHubError, limit_body, not_found
from ghsim.paging import paginate_query
from ghsim.review_events import announce_comment, announce_review, new_review
from ghsim.routes.review_comments import ReviewCommentCreate, new_review_comment
from ghsim.serialize_pulls import PullSerializer
from ghsim.sim import SimDep

router = APIRouter()
_STATE_OF_EVENT = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}


_Body = Annotated[str, AfterValidator(limit_body("PullRequestReview"))]
_OptionalBody = Annotated[str | None, AfterValidator(limit_body("PullRequestReview"))]


class InlineComment(BaseModel):
    path: str
    body: _Body
    position: int | None = None
    line: int | None = None
    side: Literal["LEFT", "RIGHT"] = "RIGHT"
    start_line: int | None = None
    start_side: Literal["LEFT", "RIGHT"] | None = None


class ReviewCreate(BaseModel):
    commit_id: str | None = None
    body: _OptionalBody = None
    event: Literal["APPROVE", "REQUEST_CHANGES", "COMMENT"] | None = None
    comments: list[InlineComment] = []


@router.post("/repos/{owner}/{repo}/pulls/{number}/reviews")
def create_review(
    owner: str,
    repo: str,
    number: int,
    body: ReviewCreate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    pull = sim.pull_or_404(found, number)
    issue = sim.issue_or_404(found, number)
    user = caller.user
    assert user is not None
    if body.event in ("APPROVE", "REQUEST_CHANGES") and issue["user_id"] == user["id"]:
        verb = "approve" if body.event == "APPROVE" else "request changes on"
        raise GitHubError(
            422, "Unprocessable Entity", [f"Review Can not {verb} your own pull request"]
        )
    if body.event in ("REQUEST_CHANGES", "COMMENT") and not body.body and not body.comments:
        raise GitHubError(
            422, "Unprocessable Entity", [f"Review body is required for {body.event}"]
        )
    state = _STATE_OF_EVENT[body.event] if body.event else "PENDING"
    with sim.store.transaction():
        review = new_review(
            sim, found, pull, user, state, body.body or "", body.commit_id or pull["head_sha"]
        )
        comments = [
            new_review_comment(
                sim,
                found,
                pull,
                review["id"],
                user,
                ReviewCommentCreate(
                    body=c.body,
                    commit_id=review["commit_id"],
                    path=c.path,
                    line=c.line,
                    side=c.side,
                    start_line=c.start_line,
                    start_side=c.start_side,
                    position=c.position,
                ),
            )
            for c in body.comments
        ]
    if state != "PENDING":
        for comment in comments:
            announce_comment(sim, comment, "created", user)
        announce_review(sim, review, user)
    return PullSerializer(sim).review(review, rest=True)


@router.get("/repos/{owner}/{repo}/pulls/{number}/reviews")
def list_reviews(
    owner: str,
    repo: str,
    number: int,
    request: Request,
    response: Response,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    pull = sim.pull_or_404(sim.repo_or_404(owner, repo), number)
    page = paginate_query(request, response, sim.store, "review", pull_id=pull["id"])
    ser = PullSerializer(sim)
    return [ser.review(r, rest=True) for r in page]


@router.get("/repos/{owner}/{repo}/pulls/{number}/reviews/{review_id}")
def get_review(
    owner: str,
    repo: str,
    number: int,
    review_id: int,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    pull = sim.pull_or_404(sim.repo_or_404(owner, repo), number)
    review = sim.store.get("review", review_id)
    if review is None or review["pull_id"] != pull["id"]:
        raise not_found()
    return PullSerializer(sim).review(review, rest=True)
