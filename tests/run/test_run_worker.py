from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis

from bot.core import jobs
from bot.core.settings import Settings
from bot.github.backend import GitHubKitApp
from bot.run.worker import build_run_worker
from tests.fake_github import FakeGitHub
from tests.handler_support import deliver, labeled, worker_ctx
from tests.sandbox_fake import LocalSandboxes

REPO, ISSUE = "Codertocat/Hello-World", 1


async def test_a_run_job_a_handler_queued_is_read_by_the_run_worker(
    settings: Settings, github_app: GitHubKitApp, fake_github: FakeGitHub, redis: aioredis.Redis
) -> None:
    """The label handler queues `start_run` as JSON; the run worker decodes and runs it (with no
    model configured, the run fails at once and says so on the issue)."""
    fake_github.roles["Codertocat"] = "admin"
    await deliver(worker_ctx(settings, github_app, redis), "issues", labeled())
    job_id = jobs.run_job_id(REPO, ISSUE)
    queued: dict[str, Any] = orjson.loads(await redis.get(f"arq:job:{job_id}"))
    assert queued["f"] == jobs.START_RUN
    assert queued["k"]["repo"] == REPO and queued["k"]["issue_number"] == ISSUE
    worker = build_run_worker(settings, github_app, None, LocalSandboxes(), burst=True)
    try:
        await worker.main()
    finally:
        await worker.close()
    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (1, 0, 0)
    [status] = fake_github.comment_bodies(ISSUE)
    assert "no model is configured" in status
