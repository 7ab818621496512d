from __future__ import annotations

import copy
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.core import jobs
from bot.core.events import Event, Ignore
from bot.core.settings import Settings
from bot.core.signals import pause_key
from bot.core.snapshot import IssueSnapshot, digest
from bot.github.api import Repo
from bot.github.backend import GitHubKitApp
from bot.github.status_comment import parse_state
from handlers.issue_comment import Answer, decide_comment
from handlers.issues import Edited, StopRun, decide_closed, decide_edited, decide_unlabeled
from tests.fake_github import BOT_LOGIN, FakeGitHub, load_payload
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
    state = parse_state(status)
    assert state is not None
    assert {k: state[k] for k in ("phase", "requested_by", "issue")} == {
        "phase": "queued",
        "requested_by": "Codertocat",
        "issue": 1,
    }
    # The run works from the text the labelled event carried, not from a later read.
    issue = load_payload("issues", "labeled")["issue"]
    assert state["snapshot"] == IssueSnapshot.take(issue["title"], issue["body"]).to_dict()
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


def closed_issue(sender: str = "Codertocat", bot: bool = False) -> dict[str, Any]:
    """There is no recorded `issues.closed`: the recorded reopening, turned around."""
    payload = copy.deepcopy(load_payload("issues", "reopened"))
    payload["action"] = "closed"
    payload["issue"]["state"] = "closed"
    payload["sender"].update(login=sender, type="Bot" if bot else "User")
    return payload


def unlabeled(label: str = "bug", sender: str = "Codertocat", bot: bool = False) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("issues", "unlabeled"))
    payload["label"]["name"] = label
    payload["sender"].update(login=sender, type="Bot" if bot else "User")
    return payload


def test_closing_an_issue_stops_its_run() -> None:
    decision = decide_closed(Event("issues", "d-7", closed_issue()))
    assert decision == StopRun(
        Repo.parse(REPO), ISSUE, "issue closed", "Codertocat", "stop:issue_closed:d-7", 1
    )
    assert isinstance(decision, StopRun)
    assert decision.event == {"kind": "stop", "reason": "issue closed", "by": "Codertocat"}


def test_taking_the_trigger_label_off_stops_the_run() -> None:
    decision = decide_unlabeled(Event("issues", "d-8", load_payload("issues", "unlabeled")), "bug")
    assert decision == StopRun(
        Repo.parse(REPO), ISSUE, "label removed", "Codertocat", "stop:label_removed:d-8", None
    )


def test_other_labels_and_bots_taking_it_off_stop_nothing() -> None:
    other = decide_unlabeled(Event("issues", "d", unlabeled("enhancement")), "bug")
    assert other == Ignore("label 'enhancement' is not the trigger")
    by_bot = decide_unlabeled(Event("issues", "d", unlabeled(sender=BOT_LOGIN, bot=True)), "bug")
    assert by_bot == Ignore("sent by a bot")


async def test_a_closed_issue_raises_the_stop_flag_and_wakes_its_run(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    signals = ctx["handler_ctx"].signals
    await deliver(ctx, "issues", closed_issue(), delivery_id="close-1")
    assert await signals.stop_requested(REPO, ISSUE)
    [(function, job_id, queue, kwargs)] = ctx["queue"].asked
    assert (function, job_id, queue) == (
        jobs.ADVANCE_RUN,
        f"wake:{REPO}#{ISSUE}:stop:issue_closed:close-1",
        jobs.RUN_QUEUE,
    )
    assert kwargs == {
        "repo": REPO,
        "issue_number": ISSUE,
        "installation_id": 1,
        "event": {"kind": "stop", "reason": "issue closed", "by": "Codertocat"},
    }
    assert await run_jobs(redis) == [job_id]
    assert fake_github.requests == []


async def test_removing_the_trigger_label_raises_the_stop_flag(
    ctx: dict[str, Any], redis: aioredis.Redis
) -> None:
    signals = ctx["handler_ctx"].signals
    await deliver(ctx, "issues", unlabeled("enhancement"))
    await deliver(ctx, "issues", unlabeled(sender=BOT_LOGIN, bot=True))
    assert not await signals.stop_requested(REPO, ISSUE)
    assert ctx["queue"].asked == []
    await deliver(ctx, "issues", unlabeled(), delivery_id="unl-1")
    assert await signals.stop_requested(REPO, ISSUE)
    assert await run_jobs(redis) == [f"wake:{REPO}#{ISSUE}:stop:label_removed:unl-1"]
    assert ctx["queue"].asked[0][3]["event"]["reason"] == "label removed"


async def test_stop_command_raises_the_flag_before_its_job(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    signals = ctx["handler_ctx"].signals
    fake_github.roles.update({"Codertocat": "write", "reader": "read"})
    await deliver(ctx, "issue_comment", commented("/pilot stop", sender="reader"))
    assert not await signals.stop_requested(REPO, ISSUE)
    await deliver(ctx, "issue_comment", commented("/pilot status"))
    assert not await signals.stop_requested(REPO, ISSUE)
    await deliver(ctx, "issue_comment", commented("/pilot stop"))
    assert await signals.stop_requested(REPO, ISSUE)
    assert [a[3]["command"] for a in ctx["queue"].asked] == ["status", "stop"]


async def test_a_plain_comment_answers_a_waiting_run(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    fake_github.roles["Codertocat"] = "write"
    await ctx["handler_ctx"].signals.set_waiting(REPO, ISSUE, True)
    payload = commented("Use the v2 API, not v1.\n\n```\nclient.v2()\n```")
    await deliver(ctx, "issue_comment", payload, delivery_id="ans-1")
    [(function, job_id, queue, kwargs)] = ctx["queue"].asked
    comment_id = payload["comment"]["id"]
    assert (function, job_id, queue) == (
        jobs.RUN_COMMAND,
        jobs.command_job_id(REPO, comment_id),
        jobs.RUN_QUEUE,
    )
    assert kwargs == {
        "repo": REPO,
        "issue_number": ISSUE,
        "command": "continue",
        "args": "Use the v2 API, not v1.\n\n```\nclient.v2()\n```",
        "sender": "Codertocat",
        "installation_id": None,
        "comment_id": comment_id,
        "on_pull_request": False,
        "delivery_id": "ans-1",
    }
    assert await run_jobs(redis) == [job_id]
    assert fake_github.reactions == [("comment", comment_id, "eyes")]


async def test_a_plain_comment_on_a_waiting_pull_request_answers_too(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    fake_github.roles["Codertocat"] = "admin"
    payload = commented("go ahead")
    payload["issue"].update(number=5, pull_request={"url": "https://x/pulls/5"})
    await ctx["handler_ctx"].signals.set_waiting(REPO, 5, True)
    await deliver(ctx, "issue_comment", payload)
    [(_, _, _, kwargs)] = ctx["queue"].asked
    assert (kwargs["issue_number"], kwargs["on_pull_request"]) == (5, True)


async def test_plain_comments_are_no_answer_when_no_run_waits(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    fake_github.roles["Codertocat"] = "admin"
    await ctx["handler_ctx"].signals.set_waiting(REPO, 99, True)
    await deliver(ctx, "issue_comment", commented("thanks!"))
    await ctx["handler_ctx"].signals.set_waiting(REPO, ISSUE, True)
    await ctx["handler_ctx"].signals.set_waiting(REPO, ISSUE, False)
    await deliver(ctx, "issue_comment", commented("thanks again!"))
    assert ctx["queue"].asked == []
    assert fake_github.requests == []


async def test_bot_comments_are_no_answer(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    await ctx["handler_ctx"].signals.set_waiting(REPO, ISSUE, True)
    await deliver(ctx, "issue_comment", commented("I am waiting.", BOT_LOGIN, bot=True))
    await deliver(ctx, "issue_comment", commented("LGTM", "ci-helper[bot]", bot=True))
    assert ctx["queue"].asked == []
    assert fake_github.requests == []


async def test_an_answer_from_someone_without_write_gets_one_explanation(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    fake_github.roles["passerby"] = "read"
    await ctx["handler_ctx"].signals.set_waiting(REPO, ISSUE, True)
    for _ in range(3):
        await deliver(ctx, "issue_comment", commented("just use regex", "passerby"))
    [reply] = fake_github.comment_bodies(ISSUE)
    assert "@passerby only people with write, maintain or admin permission" in reply
    assert ctx["queue"].asked == []
    assert await run_jobs(redis) == []
    assert fake_github.reactions == []


def test_a_comment_without_a_command_may_be_an_answer() -> None:
    decision = decide_comment(Event("issue_comment", "d", commented("  try v2  ")), "/pilot")
    assert isinstance(decision, Answer)
    assert (decision.number, decision.body, decision.on_pull_request) == (ISSUE, "try v2", False)
    assert decide_comment(Event("issue_comment", "d", commented("  \n")), "/pilot") == Ignore(
        "empty comment"
    )


def edited(changes: dict[str, Any], body: str | None = None) -> dict[str, Any]:
    """The recorded `issues.edited` payload, with the changes (and body) a scenario needs."""
    payload = copy.deepcopy(load_payload("issues", "edited"))
    payload["changes"] = changes
    if body is not None:
        payload["issue"]["body"] = body
    return payload


def test_an_edit_that_changed_neither_title_nor_body_is_ignored() -> None:
    # The recorded payload's `changes` is empty, as for an edit of nothing the run reads.
    payload = load_payload("issues", "edited")
    assert payload["changes"] == {}
    assert isinstance(decide_edited(Event("issues", "d", payload)), Ignore)


def test_an_edit_of_the_body_carries_the_new_text_to_the_run() -> None:
    payload = edited({"body": {"from": "old"}}, body="new <!-- hidden -->")
    decision = decide_edited(Event("issues", "d", payload))
    assert isinstance(decision, Edited)
    assert decision.sha256 == digest(payload["issue"]["title"], "new <!-- hidden -->")
    assert decision.event == {
        "kind": "edited",
        "title": payload["issue"]["title"],
        "body": "new <!-- hidden -->",
        "by": "Codertocat",
    }


async def test_an_edit_raises_the_pause_flag_and_wakes_the_run(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    payload = edited({"title": {"from": "Old"}}, body="new text")
    await deliver(ctx, "issues", payload)
    title = payload["issue"]["title"]
    assert (await redis.get(pause_key(REPO, ISSUE))).decode() == digest(title, "new text")
    [(function, _, _, kwargs)] = ctx["queue"].asked
    assert function == jobs.ADVANCE_RUN
    assert kwargs["event"]["kind"] == "edited" and kwargs["event"]["body"] == "new text"
    # Deciding needs no GitHub call: the run compares with its snapshot.
    assert fake_github.requests == []
    await deliver(ctx, "issues", load_payload("issues", "edited"))
    assert len(ctx["queue"].asked) == 1
