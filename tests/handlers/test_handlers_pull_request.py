from __future__ import annotations

import copy
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.core import jobs
from bot.core.events import Event, Ignore
from bot.core.settings import Settings
from bot.github.api import Repo
from bot.github.backend import GitHubKitApp
from handlers.pull_request import PullClosed, Review, decide_closed, decide_review
from tests.fake_github import BOT_LOGIN, FakeGitHub, load_payload
from tests.handler_support import deliver, worker_ctx

PILOT = "pilot/issue-7-fix-the-parser"
REPO = Repo("Codertocat", "Hello-World")
PULL = 2  # the pull request number in the recorded payloads
REVIEW_ID = 237895671


def closed(branch: str = PILOT, merged: bool = False, sender: str = "Codertocat") -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("pull_request", "closed"))
    payload["pull_request"]["head"]["ref"] = branch
    payload["pull_request"]["merged"] = merged
    payload["sender"]["login"] = sender
    payload["sender"]["type"] = "Bot" if sender.endswith("[bot]") else "User"
    return payload


def reviewed(
    state: str = "changes_requested", branch: str = PILOT, reviewer: str = "Codertocat"
) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("pull_request_review", "submitted"))
    payload["review"]["state"] = state
    payload["pull_request"]["head"]["ref"] = branch
    bot = reviewer.endswith("[bot]")
    for user in (payload["review"]["user"], payload["sender"]):
        user.update(login=reviewer, type="Bot" if bot else "User")
    return payload


def event(name: str, payload: dict[str, Any]) -> Event:
    return Event(name, "d-1", payload)


@pytest.mark.parametrize("merged", [True, False])
def test_closing_a_runs_pull_request_wakes_it(merged: bool) -> None:
    decision = decide_closed(event("pull_request", closed(merged=merged)), BOT_LOGIN)
    assert decision == PullClosed(REPO, 7, PULL, merged, 1)
    assert isinstance(decision, PullClosed)
    assert decision.key == f"pr_closed:{PULL}"
    assert decision.event == {"kind": "pull_closed", "pull": PULL, "merged": merged}


def test_other_pull_requests_are_ignored() -> None:
    recorded = event("pull_request", load_payload("pull_request", "closed"))
    assert isinstance(decide_closed(recorded, BOT_LOGIN), Ignore)
    fork = closed()
    fork["pull_request"]["head"]["repo"]["full_name"] = "mallory/Hello-World"
    assert decide_closed(event("pull_request", fork), BOT_LOGIN) == Ignore(
        "a pull request from another repository"
    )
    own = decide_closed(event("pull_request", closed(sender=BOT_LOGIN)), BOT_LOGIN)
    assert own == Ignore("closed by the bot itself")


def test_a_merge_by_another_bot_still_ends_the_run() -> None:
    decision = decide_closed(
        event("pull_request", closed(merged=True, sender="merge-queue[bot]")), BOT_LOGIN
    )
    assert isinstance(decision, PullClosed)
    assert decision.merged


@pytest.mark.parametrize("state", ["changes_requested", "commented", "CHANGES_REQUESTED"])
def test_reviews_asking_for_something_wake_the_run(state: str) -> None:
    decision = decide_review(event("pull_request_review", reviewed(state)))
    assert decision == Review(REPO, 7, PULL, REVIEW_ID, "Codertocat", 1)
    assert isinstance(decision, Review)
    assert decision.key == f"review:{REVIEW_ID}"
    assert decision.event == {
        "kind": "review",
        "pull": PULL,
        "review_id": REVIEW_ID,
        "reviewer": "Codertocat",
    }


@pytest.mark.parametrize("state", ["approved", "dismissed", "pending"])
def test_reviews_asking_nothing_are_ignored(state: str) -> None:
    assert isinstance(decide_review(event("pull_request_review", reviewed(state))), Ignore)


def test_reviews_by_bots_or_on_other_branches_are_ignored() -> None:
    recorded = load_payload("pull_request_review", "submitted")
    assert isinstance(decide_review(event("pull_request_review", recorded)), Ignore)
    by_bot = reviewed(reviewer=BOT_LOGIN)
    assert decide_review(event("pull_request_review", by_bot)) == Ignore("reviewed by a bot")
    other = reviewed(reviewer="linter[bot]")
    assert decide_review(event("pull_request_review", other)) == Ignore("reviewed by a bot")


@pytest.fixture
def ctx(settings: Settings, github_app: GitHubKitApp, redis: aioredis.Redis) -> dict[str, Any]:
    return worker_ctx(settings, github_app, redis)


async def run_jobs(redis: aioredis.Redis) -> list[str]:
    return sorted(m.decode() for m in await redis.zrange(jobs.RUN_QUEUE, 0, -1))


async def test_a_merged_pull_request_queues_advance_run(
    ctx: dict[str, Any], redis: aioredis.Redis
) -> None:
    await deliver(ctx, "pull_request", closed(merged=True))
    [(function, job_id, queue, kwargs)] = ctx["queue"].asked
    assert (function, job_id, queue) == (
        jobs.ADVANCE_RUN,
        f"wake:Codertocat/Hello-World#7:pr_closed:{PULL}",
        jobs.RUN_QUEUE,
    )
    assert kwargs == {
        "repo": "Codertocat/Hello-World",
        "issue_number": 7,
        "installation_id": 1,
        "event": {"kind": "pull_closed", "pull": PULL, "merged": True},
    }
    assert await run_jobs(redis) == [job_id]


async def test_other_closed_pull_requests_queue_nothing(
    ctx: dict[str, Any], redis: aioredis.Redis
) -> None:
    await deliver(ctx, "pull_request", load_payload("pull_request", "closed"))
    await deliver(ctx, "pull_request", closed(sender=BOT_LOGIN))
    assert ctx["queue"].asked == []


@pytest.mark.parametrize("role", ["write", "maintain", "admin"])
async def test_a_review_by_someone_who_may_steer_queues_advance_run(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis, role: str
) -> None:
    fake_github.roles["Codertocat"] = role
    await deliver(ctx, "pull_request_review", reviewed())
    [(function, job_id, _, kwargs)] = ctx["queue"].asked
    assert (function, job_id) == (
        jobs.ADVANCE_RUN,
        f"wake:Codertocat/Hello-World#7:review:{REVIEW_ID}",
    )
    assert kwargs["event"] == {
        "kind": "review",
        "pull": PULL,
        "review_id": REVIEW_ID,
        "reviewer": "Codertocat",
    }
    assert await run_jobs(redis) == [job_id]
    assert fake_github.calls("GET", r"/collaborators/Codertocat/permission")


@pytest.mark.parametrize("role", ["read", "triage", None])
async def test_a_review_by_anyone_else_is_ignored_silently(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis, role: str | None
) -> None:
    if role is not None:
        fake_github.roles["Codertocat"] = role
    await deliver(ctx, "pull_request_review", reviewed())
    assert ctx["queue"].asked == []
    assert fake_github.comments == {}
    assert fake_github.reactions == []


async def test_approvals_and_bot_reviews_ask_nothing_of_github(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    fake_github.roles.update({"Codertocat": "admin", BOT_LOGIN: "admin"})
    await deliver(ctx, "pull_request_review", reviewed("approved"))
    await deliver(ctx, "pull_request_review", reviewed(reviewer=BOT_LOGIN))
    await deliver(ctx, "pull_request_review", load_payload("pull_request_review", "submitted"))
    assert fake_github.requests == []
    assert ctx["queue"].asked == []
