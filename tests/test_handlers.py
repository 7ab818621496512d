from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from bot import jobs
from bot.github import GitHubKitApp
from bot.settings import Settings
from bot.status_comment import parse_state
from tests.fake_github import FakeGitHub, load_payload
from tests.handler_support import commented, deliver, labeled, worker_ctx

ISSUE = 1  # the issue number in the recorded payloads
REPO = "Codertocat/Hello-World"


@pytest.fixture
def ctx(settings: Settings, github_app: GitHubKitApp, redis: aioredis.Redis) -> dict[str, Any]:
    return worker_ctx(settings, github_app, redis)


async def run_jobs(redis: aioredis.Redis) -> list[str]:
    return [m.decode() for m in await redis.zrange(jobs.RUN_QUEUE, 0, -1)]


async def test_recorded_label_event_starts_a_run(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    fake_github.roles["Codertocat"] = "admin"
    await deliver(ctx, "issues", load_payload("issues", "labeled"))
    assert fake_github.reactions == [("issue", ISSUE, "eyes")]
    [status] = fake_github.comment_bodies(ISSUE)
    assert "Queued, asked by @Codertocat." in status
    assert parse_state(status) == {"phase": "queued", "requested_by": "Codertocat", "issue": 1}
    assert await run_jobs(redis) == [jobs.run_job_id(REPO, ISSUE)]
    # The recorded payload names no installation, so the bot asked GitHub for it.
    assert fake_github.calls("GET", r"/repos/Codertocat/Hello-World/installation")


async def test_second_label_event_starts_no_second_run(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    fake_github.roles["Codertocat"] = "write"
    await deliver(ctx, "issues", labeled())
    await deliver(ctx, "issues", labeled())
    assert len(fake_github.comment_bodies(ISSUE)) == 1
    assert await run_jobs(redis) == [jobs.run_job_id(REPO, ISSUE)]


@pytest.mark.parametrize("role", ["maintain", "admin", "write"])
async def test_write_maintain_admin_may_start(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis, role: str
) -> None:
    fake_github.roles["Codertocat"] = role
    await deliver(ctx, "issues", labeled())
    assert await run_jobs(redis) == [jobs.run_job_id(REPO, ISSUE)]


@pytest.mark.parametrize("role", ["read", "triage", None])
async def test_others_get_one_explanation_and_nothing_else(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis, role: str | None
) -> None:
    if role is not None:
        fake_github.roles["Codertocat"] = role
    await deliver(ctx, "issues", labeled(), delivery_id="d-1")
    await deliver(ctx, "issues", labeled(), delivery_id="d-1")  # a retried delivery
    [comment] = fake_github.comment_bodies(ISSUE)
    assert "only people with write, maintain or admin permission" in comment
    assert fake_github.reactions == []
    assert await run_jobs(redis) == []


async def test_permission_comes_from_the_api_not_author_association(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    payload = labeled()
    payload["issue"]["author_association"] = "OWNER"
    fake_github.roles["Codertocat"] = "read"
    await deliver(ctx, "issues", payload)
    assert await run_jobs(redis) == []
    assert fake_github.calls("GET", r"/collaborators/Codertocat/permission")


async def test_bots_and_other_labels_are_ignored(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    fake_github.roles.update({"Codertocat": "admin", "issue-pilot[bot]": "admin"})
    await deliver(ctx, "issues", labeled(sender="issue-pilot[bot]", bot=True))
    await deliver(ctx, "issues", labeled(label="enhancement"))
    assert fake_github.requests == []
    assert await run_jobs(redis) == []


async def test_a_lost_status_comment_is_made_on_retry(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    fake_github.roles["Codertocat"] = "admin"
    fake_github.fail("POST", r"/repos/[^/]+/[^/]+/issues/(\d+)/comments")
    result = await deliver_expecting_retry(ctx, "issues", labeled(), "d-2")
    assert result == "retry"
    ctx["job_try"] = 2
    await deliver(ctx, "issues", labeled(), delivery_id="d-2")
    assert len(fake_github.comment_bodies(ISSUE)) == 1
    assert await run_jobs(redis) == [jobs.run_job_id(REPO, ISSUE)]


async def deliver_expecting_retry(
    ctx: dict[str, Any], event: str, payload: dict[str, Any], delivery_id: str
) -> str:
    from arq import Retry

    try:
        await deliver(ctx, event, payload, delivery_id)
    except Retry:
        return "retry"
    return "done"


async def test_help_is_answered_here(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    fake_github.roles["Codertocat"] = "write"
    await deliver(ctx, "issue_comment", commented("/pilot help"), delivery_id="c-1")
    await deliver(ctx, "issue_comment", commented("/pilot help"), delivery_id="c-1")
    [reply] = fake_github.comment_bodies(ISSUE)
    assert "`/pilot continue <text>`" in reply
    assert ctx["queue"].asked == []


async def test_unknown_command_gets_help(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    fake_github.roles["Codertocat"] = "write"
    await deliver(ctx, "issue_comment", commented("please\n/pilot frobnicate now"))
    [reply] = fake_github.comment_bodies(ISSUE)
    assert "I don't know the command `/pilot frobnicate`" in reply


@pytest.mark.parametrize("command", ["approve", "retry", "stop", "status", "continue use pytest"])
async def test_other_commands_enqueue_their_job(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis, command: str
) -> None:
    fake_github.roles["Codertocat"] = "maintain"
    payload = commented(f"/pilot {command}")
    await deliver(ctx, "issue_comment", payload, delivery_id="c-9")
    [(function, job_id, queue, kwargs)] = ctx["queue"].asked
    name, _, args = command.partition(" ")
    command_id = f"command:{REPO}#{payload['comment']['id']}"
    assert (function, job_id, queue) == (jobs.RUN_COMMAND, command_id, jobs.RUN_QUEUE)
    assert (kwargs["command"], kwargs["args"], kwargs["sender"]) == (name, args, "Codertocat")
    assert await run_jobs(redis) == [command_id]
    assert fake_github.reactions == [("comment", payload["comment"]["id"], "eyes")]


async def test_run_command_starts_a_run_like_the_label(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    fake_github.roles["Codertocat"] = "admin"
    await deliver(ctx, "issue_comment", commented("/pilot run"))
    assert await run_jobs(redis) == [jobs.run_job_id(REPO, ISSUE)]
    assert any("Queued, asked by @Codertocat." in b for b in fake_github.comment_bodies(ISSUE))


async def test_commands_from_people_without_write_change_nothing(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    fake_github.roles["Codertocat"] = "read"
    await deliver(ctx, "issue_comment", commented("/pilot stop"))
    [reply] = fake_github.comment_bodies(ISSUE)
    assert "only people with write" in reply
    assert ctx["queue"].asked == []


@pytest.mark.parametrize(
    "body",
    [
        "You are totally right!",
        "```\n/pilot stop\n```",
        "> /pilot stop\nquoting the docs",
        "see `/pilot stop` in the docs",
    ],
)
async def test_comments_without_a_command_are_ignored(
    ctx: dict[str, Any], fake_github: FakeGitHub, body: str
) -> None:
    fake_github.roles["Codertocat"] = "admin"
    await deliver(ctx, "issue_comment", commented(body))
    assert fake_github.requests == []


async def test_bot_comments_are_ignored(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    await deliver(ctx, "issue_comment", commented("/pilot run", "issue-pilot[bot]", bot=True))
    assert fake_github.requests == []


async def test_recorded_comment_payload_is_handled(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    for name in ("created", "created.1"):
        result = await deliver(ctx, "issue_comment", load_payload("issue_comment", name))
        assert result == {"ran": ["handlers.issue_comment.on_comment_created"], "failed": []}
    assert fake_github.requests == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"pull_request": {"url": "https://api.github.com/repos/o/r/pulls/1"}},
            "not pull requests",
        ),
        ({"state": "closed"}, "This issue is closed"),
    ],
)
async def test_run_on_a_pull_request_or_closed_issue_is_answered_not_started(
    ctx: dict[str, Any],
    fake_github: FakeGitHub,
    redis: aioredis.Redis,
    change: dict[str, Any],
    expected: str,
) -> None:
    fake_github.roles["Codertocat"] = "admin"
    payload = commented("/pilot run")
    payload["issue"].update(change)
    await deliver(ctx, "issue_comment", payload)
    [reply] = fake_github.comment_bodies(ISSUE)
    assert expected in reply
    assert await run_jobs(redis) == []


async def test_people_without_write_get_one_explanation_an_hour(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    fake_github.roles["Codertocat"] = "read"
    for _ in range(3):
        await deliver(ctx, "issue_comment", commented("/pilot stop"))
    await deliver(ctx, "issues", labeled())
    assert len(fake_github.comment_bodies(ISSUE)) == 1
    # Each explanation lists the issue's comments at most once: a flood costs little quota.
    assert len(fake_github.calls("GET", r"/issues/1/comments")) == 1


async def test_label_and_run_command_together_make_one_status_comment(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    import asyncio

    fake_github.roles["Codertocat"] = "admin"
    await asyncio.gather(
        deliver(ctx, "issues", labeled()),
        deliver(ctx, "issue_comment", commented("/pilot run")),
        deliver(ctx, "issues", labeled()),
    )
    statuses = [b for b in fake_github.comment_bodies(ISSUE) if "pilot:state" in b]
    assert len(statuses) == 1
    assert await run_jobs(redis) == [jobs.run_job_id(REPO, ISSUE)]


async def test_a_replayed_command_under_a_new_delivery_id_runs_once(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    fake_github.roles["Codertocat"] = "admin"
    payload = commented("/pilot stop")
    await deliver(ctx, "issue_comment", payload, delivery_id="first")
    await deliver(ctx, "issue_comment", payload, delivery_id="replayed")
    assert len(await run_jobs(redis)) == 1
