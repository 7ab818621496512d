"""Pull request reviews and review comments as GitHub stores and announces them.

Below both the reviews routes and the review-comments routes: a comment outside a review
is wrapped in a one-comment review, and a submitted review announces its comments.
"""

from __future__ import annotations

from typing import Any

from ghsim.serialize_pulls import PullSerializer
from ghsim.sim import Sim
from ghsim.state import now_iso
from ghsim.store import Doc


def new_review(
    sim: Sim, repo: Doc, pull: Doc, user: Doc, state: str, body: str, commit_id: str
) -> Doc:
    return sim.store.insert(
        "review",
        {
            "repo_id": repo["id"],
            "pull_id": pull["id"],
            "pull_number": pull["number"],
            "user_id": user["id"],
            "state": state,
            "body": body,
            "commit_id": commit_id,
            "submitted_at": None if state == "PENDING" else now_iso(),
        },
    )


def announce_review(sim: Sim, review: Doc, sender: Doc) -> None:
    ser = PullSerializer(sim)
    pull = sim.store.get("pull", review["pull_id"])
    assert pull is not None
    sim.webhooks.emit(
        "pull_request_review",
        {
            "action": "submitted",
            "review": ser.review(review),
            "pull_request": ser.pull_request(pull, "simple"),
        },
        sim.repo(review["repo_id"])["full_name"],
        sender,
    )


def announce_comment(sim: Sim, comment: Doc, action: str, sender: Doc, **extra: Any) -> None:
    ser = PullSerializer(sim)
    pull = sim.store.get("pull", comment["pull_id"])
    assert pull is not None
    sim.webhooks.emit(
        "pull_request_review_comment",
        {
            "action": action,
            "comment": ser.review_comment(comment),
            "pull_request": ser.pull_request(pull, "review_comment"),
            **extra,
        },
        sim.repo(comment["repo_id"])["full_name"],
        sender,
    )
