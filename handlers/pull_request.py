"""A run's pull request: closing or merging it ends the run; a review asks it for changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.branches import issue_of_branch
from bot.core.events import Event, Ignore
from bot.core.routing import Router
from bot.delivery.context import HandlerContext
from bot.delivery.permissions import may_steer
from bot.delivery.wake import wake_run
from bot.github.api import Repo

router = Router()
log = logging.getLogger("pilot.handlers.pull_request")

# An approval asks nothing of the run; people merge when they are content.
REVIEW_STATES = frozenset({"changes_requested", "commented"})


class ReviewClient(Protocol):
    """The GitHub call of a review's handling: whether the reviewer may steer."""

    async def permission(self, repo: Repo, login: str) -> str: ...


@dataclass(frozen=True)
class PullClosed:
    repo: Repo
    issue: int
    pull: int
    merged: bool
    installation_id: int | None

    @property
    def key(self) -> str:
        return f"pr_closed:{self.pull}"

    @property
    def event(self) -> dict[str, Any]:
        return {"kind": "pull_closed", "pull": self.pull, "merged": self.merged}


@dataclass(frozen=True)
class Review:
    """A review on a run's pull request, to be acted on if the reviewer may steer."""

    repo: Repo
    issue: int
    pull: int
    review_id: int
    reviewer: str
    installation_id: int | None

    @property
    def key(self) -> str:
        return f"review:{self.review_id}"

    @property
    def event(self) -> dict[str, Any]:
        return {
            "kind": "review",
            "pull": self.pull,
            "review_id": self.review_id,
            "reviewer": self.reviewer,
        }


def _pilot_pull(event: Event) -> tuple[Repo, int, dict[str, Any]] | Ignore:
    """The repository, issue and pull request of a run's own pull request."""
    if event.repo_full_name is None:
        return Ignore("no repository in the payload")
    pull = event.payload.get("pull_request") or {}
    head = pull.get("head") or {}
    issue = issue_of_branch(head.get("ref"))
    if issue is None:
        return Ignore(f"not a pilot branch: {head.get('ref')!r}")
    # A fork may name a branch like ours; a run only ever pushes to the repository itself.
    if (head.get("repo") or {}).get("full_name") != event.repo_full_name:
        return Ignore("a pull request from another repository")
    return Repo.parse(event.repo_full_name), issue, pull


def decide_closed(event: Event, own_login: str) -> PullClosed | Ignore:
    found = _pilot_pull(event)
    if isinstance(found, Ignore):
        return found
    if event.sender_login == own_login:
        return Ignore("closed by the bot itself")
    repo, issue, pull = found
    return PullClosed(
        repo=repo,
        issue=issue,
        pull=int(pull["number"]),
        merged=bool(pull.get("merged")),
        installation_id=event.installation_id,
    )


def decide_review(event: Event) -> Review | Ignore:
    review = event.payload.get("review") or {}
    state = str(review.get("state") or "").lower()
    if state not in REVIEW_STATES:
        return Ignore(f"review state {state!r} asks nothing")
    user = review.get("user") or {}
    reviewer = str(user.get("login") or "")
    if event.sender_is_bot or user.get("type") == "Bot" or reviewer.endswith("[bot]"):
        return Ignore("reviewed by a bot")
    if not reviewer:
        return Ignore("no reviewer")
    found = _pilot_pull(event)
    if isinstance(found, Ignore):
        return found
    repo, issue, pull = found
    return Review(
        repo=repo,
        issue=issue,
        pull=int(pull["number"]),
        review_id=int(review["id"]),
        reviewer=reviewer,
        installation_id=event.installation_id,
    )


@router.register("pull_request", action="closed")
async def on_pull_closed(event: Event, ctx: HandlerContext) -> None:
    """Fires when a pull request is closed or merged; a run's own one ends the run."""
    decision = decide_closed(event, await ctx.github.bot_login())
    if isinstance(decision, Ignore):
        log.debug("ignored", extra={"delivery_id": event.delivery_id, "reason": decision.reason})
        return
    # A session working on the run (a CI fix, a review) stops before its next push; the event
    # then waits in the run's inbox and ends the run.
    await ctx.signals.request_stop(decision.repo.full_name, decision.issue, reason="pull_closed")
    await wake_run(
        ctx, decision.repo, decision.issue, decision.installation_id, decision.event, decision.key
    )


@router.register("pull_request_review", action="submitted")
async def on_review_submitted(event: Event, ctx: HandlerContext) -> None:
    """Fires when a review is submitted; changes asked on a run's pull request wake the run."""
    decision = decide_review(event)
    if isinstance(decision, Ignore):
        log.debug("ignored", extra={"delivery_id": event.delivery_id, "reason": decision.reason})
        return
    gh: ReviewClient = await ctx.github.client(decision.repo, decision.installation_id)
    role = await gh.permission(decision.repo, decision.reviewer)
    if not may_steer(role):
        # Reviews are not commands: anyone may review, only some people steer the bot.
        log.info(
            "review ignored",
            extra={"delivery_id": event.delivery_id, "user": decision.reviewer, "role": role},
        )
        return
    await wake_run(
        ctx, decision.repo, decision.issue, decision.installation_id, decision.event, decision.key
    )
