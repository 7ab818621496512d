from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.core import jobs
from bot.core.branches import branch_name, issue_of_branch, issues_of_branches
from bot.core.settings import Settings
from bot.delivery.wake import wake_run
from bot.github.api import Repo
from bot.github.backend import GitHubKitApp
from tests.handler_support import worker_ctx

REPO = Repo("octo", "hello")


@pytest.mark.parametrize(
    ("branch", "issue"),
    [
        (branch_name(12, "Fix the parser"), 12),
        (branch_name(3, "!!!"), 3),
        ("pilot/issue-7-x", 7),
        ("pilot/issue-7", None),
        ("feature/pilot/issue-7-x", None),
        ("main", None),
        (None, None),
    ],
)
def test_a_pilot_branch_names_its_issue(branch: str | None, issue: int | None) -> None:
    assert issue_of_branch(branch) == issue


def test_branches_map_to_their_issues_once() -> None:
    branches = ["main", "pilot/issue-9-b", "pilot/issue-2-a", "pilot/issue-9-c", None]
    assert issues_of_branches(branches) == (2, 9)


async def test_wake_run_queues_advance_run_once_per_event(
    settings: Settings, github_app: GitHubKitApp, redis: aioredis.Redis
) -> None:
    ctx: dict[str, Any] = worker_ctx(settings, github_app, redis)
    event = {"kind": "ci", "sha": "abc"}
    assert await wake_run(ctx["handler_ctx"], REPO, 4, 77, event, "ci:abc:status:1")
    assert not await wake_run(ctx["handler_ctx"], REPO, 4, 77, event, "ci:abc:status:1")
    assert await wake_run(ctx["handler_ctx"], REPO, 4, 77, event, "ci:abc:status:2")
    function, job_id, queue, kwargs = ctx["queue"].asked[0]
    assert (function, job_id, queue) == (
        jobs.ADVANCE_RUN,
        "wake:octo/hello#4:ci:abc:status:1",
        jobs.RUN_QUEUE,
    )
    assert kwargs == {
        "repo": "octo/hello",
        "issue_number": 4,
        "installation_id": 77,
        "event": event,
    }
    queued = [m.decode() for m in await redis.zrange(jobs.RUN_QUEUE, 0, -1)]
    assert sorted(queued) == [
        "wake:octo/hello#4:ci:abc:status:1",
        "wake:octo/hello#4:ci:abc:status:2",
    ]
