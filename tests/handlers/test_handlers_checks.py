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
from handlers.checks import (
    CiWake,
    decide_check_run,
    decide_check_suite,
    decide_status,
    decide_workflow_run,
    decide_workflow_run_requested,
)
from tests.fake_github import BOT_LOGIN, FakeGitHub, load_payload
from tests.handler_support import deliver, worker_ctx

OWN_SLUG = BOT_LOGIN.removesuffix("[bot]")
PILOT = "pilot/issue-7-fix-the-parser"


def check_suite(branch: str | None = PILOT, slug: str | None = None) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("check_suite", "completed"))
    payload["check_suite"]["head_branch"] = branch
    if slug is not None:
        payload["check_suite"]["app"]["slug"] = slug
    return payload


# Another CI App's check runs (a suite of their own, no workflow run behind them).
OTHER_CI = "circleci-checks"


def check_run(branch: str | None = PILOT, slug: str | None = None) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("check_run", "completed.1"))
    payload["check_run"]["check_suite"]["head_branch"] = branch
    if slug is not None:
        payload["check_run"]["app"]["slug"] = slug
        payload["check_run"]["check_suite"]["app"]["slug"] = slug
    return payload


def workflow_run(branch: str = PILOT) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("workflow_run", "completed"))
    payload["workflow_run"]["head_branch"] = branch
    return payload


def status(state: str = "failure", branches: tuple[str, ...] = (PILOT,)) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("status"))
    payload["state"] = state
    template = payload["branches"][0]
    payload["branches"] = [{**template, "name": name} for name in branches]
    return payload


def event(name: str, payload: dict[str, Any]) -> Event:
    return Event(name, "d-1", payload)


def test_a_check_suite_on_a_pilot_branch_wakes_its_run() -> None:
    payload = check_suite()
    decision = decide_check_suite(event("check_suite", payload), OWN_SLUG)
    suite = payload["check_suite"]
    assert decision == CiWake(
        repo=Repo("Codertocat", "Hello-World"),
        sha=suite["head_sha"],
        issues=(7,),
        key=f"ci:{suite['head_sha']}:check_suite:{suite['id']}:{suite['updated_at']}",
        installation_id=None,
    )
    assert isinstance(decision, CiWake)
    assert decision.event == {"kind": "ci", "sha": suite["head_sha"]}


@pytest.mark.parametrize("name", ["completed", "completed.1"])
def test_recorded_check_suites_on_other_branches_are_ignored(name: str) -> None:
    decision = decide_check_suite(event("check_suite", load_payload("check_suite", name)), "x")
    assert isinstance(decision, Ignore)
    assert "not a pilot branch" in decision.reason


def test_our_own_check_suite_is_ignored() -> None:
    decision = decide_check_suite(event("check_suite", check_suite(slug=OWN_SLUG)), OWN_SLUG)
    assert decision == Ignore("our own check suite")
    other = decide_check_suite(event("check_suite", check_suite(slug="github-actions")), OWN_SLUG)
    assert isinstance(other, CiWake)


def test_a_check_suite_without_a_branch_is_ignored() -> None:
    assert isinstance(decide_check_suite(event("check_suite", check_suite(None)), "x"), Ignore)


def test_a_check_run_on_a_pilot_branch_wakes_its_run() -> None:
    payload = check_run(slug=OTHER_CI)
    decision = decide_check_run(event("check_run", payload), OWN_SLUG)
    assert isinstance(decision, CiWake)
    run = payload["check_run"]
    assert decision.issues == (7,)
    assert decision.sha == run["head_sha"]
    assert decision.key == f"ci:{run['head_sha']}:check_run:{run['id']}:{run['completed_at']}"


def test_an_actions_job_wakes_nothing_until_its_suite_is_completed() -> None:
    # The recorded Actions job: its suite still runs, and the workflow run's completion follows.
    payload = check_run()
    assert payload["check_run"]["check_suite"]["status"] == "in_progress"
    ignored = decide_check_run(event("check_run", payload), OWN_SLUG)
    assert ignored == Ignore("a GitHub Actions job: its workflow run's completion wakes the run")
    payload["check_run"]["check_suite"]["status"] = "completed"
    assert isinstance(decide_check_run(event("check_run", payload), OWN_SLUG), CiWake)


def test_a_run_held_for_approval_wakes_its_run_and_its_later_completion_again() -> None:
    held = workflow_run()
    held["action"] = "requested"
    held["workflow_run"].update(status="completed", conclusion="action_required")
    asked = decide_workflow_run_requested(event("workflow_run", held))
    assert isinstance(asked, CiWake)
    done = decide_workflow_run(event("workflow_run", workflow_run()))
    assert isinstance(done, CiWake) and done.key != asked.key
    queued = workflow_run()
    queued["workflow_run"].update(status="queued", conclusion=None)
    assert isinstance(decide_workflow_run_requested(event("workflow_run", queued)), Ignore)


def test_recorded_check_runs_and_our_own_are_ignored() -> None:
    for name in ("completed", "completed.1"):
        recorded = event("check_run", load_payload("check_run", name))
        assert isinstance(decide_check_run(recorded, OWN_SLUG), Ignore)
    own = decide_check_run(event("check_run", check_run(slug=OWN_SLUG)), OWN_SLUG)
    assert own == Ignore("our own check run")


def test_a_workflow_run_on_a_pilot_branch_wakes_its_run() -> None:
    payload = workflow_run()
    decision = decide_workflow_run(event("workflow_run", payload))
    assert isinstance(decision, CiWake)
    run = payload["workflow_run"]
    assert decision.repo.full_name == "octo-org/octo-repo"
    assert decision.key == (f"ci:{run['head_sha']}:workflow_run:{run['id']}:1:{run['conclusion']}")
    assert isinstance(
        decide_workflow_run(event("workflow_run", load_payload("workflow_run", "completed"))),
        Ignore,
    )


def test_a_workflow_run_from_a_fork_is_ignored() -> None:
    payload = workflow_run()
    payload["workflow_run"]["head_repository"]["full_name"] = "mallory/octo-repo"
    assert isinstance(decide_workflow_run(event("workflow_run", payload)), Ignore)


@pytest.mark.parametrize("state", ["success", "failure", "error"])
def test_a_final_status_on_a_pilot_branch_wakes_its_run(state: str) -> None:
    payload = status(state, ("main", PILOT, "pilot/issue-9-other"))
    decision = decide_status(event("status", payload), BOT_LOGIN)
    assert isinstance(decision, CiWake)
    assert decision.issues == (7, 9)
    assert decision.key == f"ci:{payload['sha']}:status:{payload['id']}"


def test_pending_statuses_other_branches_and_our_own_are_ignored() -> None:
    assert decide_status(event("status", status("pending")), BOT_LOGIN) == Ignore(
        "status 'pending' is not final"
    )
    assert isinstance(decide_status(event("status", load_payload("status")), BOT_LOGIN), Ignore)
    own = status()
    own["sender"] = {**own["sender"], "login": BOT_LOGIN, "type": "Bot"}
    assert decide_status(event("status", own), BOT_LOGIN) == Ignore("our own status")


@pytest.fixture
def ctx(settings: Settings, github_app: GitHubKitApp, redis: aioredis.Redis) -> dict[str, Any]:
    return worker_ctx(settings, github_app, redis)


async def run_jobs(redis: aioredis.Redis) -> list[str]:
    return sorted(m.decode() for m in await redis.zrange(jobs.RUN_QUEUE, 0, -1))


async def test_ci_events_on_a_pilot_branch_queue_advance_run(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    suite = check_suite()
    await deliver(ctx, "check_suite", suite)
    await deliver(ctx, "check_suite", suite)  # the same event again queues nothing new
    await deliver(ctx, "check_run", check_run(slug=OTHER_CI))
    await deliver(ctx, "check_run", check_run())  # an Actions job: its workflow run wakes
    await deliver(ctx, "status", status(branches=(PILOT, "pilot/issue-9-other")))
    asked = ctx["queue"].asked
    assert {a[0] for a in asked} == {jobs.ADVANCE_RUN}
    sha = suite["check_suite"]["head_sha"]
    assert asked[0][3] == {
        "repo": "Codertocat/Hello-World",
        "issue_number": 7,
        "installation_id": None,
        "event": {"kind": "ci", "sha": sha},
    }
    run = check_run(slug=OTHER_CI)["check_run"]
    st = status()
    assert await run_jobs(redis) == sorted(
        [
            f"wake:Codertocat/Hello-World#7:ci:{sha}:check_suite:118578147:2019-05-15T15:21:14Z",
            f"wake:Codertocat/Hello-World#7:ci:{sha}:check_run:{run['id']}:{run['completed_at']}",
            f"wake:Codertocat/Hello-World#7:ci:{st['sha']}:status:{st['id']}",
            f"wake:Codertocat/Hello-World#9:ci:{st['sha']}:status:{st['id']}",
        ]
    )
    # CI events name no person: only the App's own slug was asked for.
    assert {r.url.path for r in fake_github.requests} == {"/api/v3/app"}


async def test_ci_events_elsewhere_or_our_own_queue_nothing(
    ctx: dict[str, Any], fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    for name in ("completed", "completed.1"):
        await deliver(ctx, "check_suite", load_payload("check_suite", name))
        await deliver(ctx, "check_run", load_payload("check_run", name))
    await deliver(ctx, "check_suite", check_suite(slug=OWN_SLUG))
    await deliver(ctx, "check_run", check_run(slug=OWN_SLUG))
    await deliver(ctx, "workflow_run", load_payload("workflow_run", "completed"))
    await deliver(ctx, "status", load_payload("status"))
    await deliver(ctx, "status", status("pending"))
    assert ctx["queue"].asked == []
    assert await run_jobs(redis) == []
