"""The intake end to end on ghsim: a person labels and comments as on GitHub; ghsim signs and
delivers the webhooks to `issue-pilot serve`; a worker answers through githubkit with the App's
installation token. Nothing is faked."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from githubkit.cache import MemCacheStrategy

from bot.core import jobs
from bot.core.settings import Settings
from bot.delivery.worker import build_worker
from bot.github.api import Repo
from bot.github.backend import GitHubKitApp
from handlers import router as default_router
from tests.ghsim_support import ROOT, GhsimProcess, free_port, unique, wait_until


@dataclass
class Stack:
    sim: GhsimProcess
    settings: Settings


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    web_port = free_port()
    sim = GhsimProcess(tmp_path / "ghsim", f"http://127.0.0.1:{web_port}/webhooks/github")
    (tmp_path / "ghsim").mkdir()
    sim.start()
    info = sim.app_info
    # The web app gets the webhook secret and nothing else: the App's key stays in the worker.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PILOT_GITHUB")},
        "PILOT_GITHUB_WEBHOOK_SECRET": str(info["webhook_secret"]),
        "PILOT_REDIS_URL": redis_url,
    }
    log = open(tmp_path / "web.log", "wb")
    web = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(web_port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        wait_until(lambda: _healthy(web_port), 20, "issue-pilot serve")
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            github_app_id=int(info["app_id"]),
            github_private_key_path=sim.data_dir / "app.pem",
            github_webhook_secret=str(info["webhook_secret"]),
            github_api_url=sim.api_url,
            redis_url=redis_url,
        )
        yield Stack(sim, settings)
    finally:
        web.terminate()
        web.wait(10)
        log.close()
        sim.stop()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def work_until(stack: Stack, check: Callable[[], bool], timeout_s: float = 20) -> None:
    """Run burst workers over what ghsim delivered (at least once) until `check` holds."""
    github = GitHubKitApp(
        stack.settings.app_id(),
        stack.settings.private_key(),
        stack.settings.github_api_url,
        cache_strategy=MemCacheStrategy(),
        auto_retry=False,
    )
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            worker = build_worker(stack.settings, default_router, github, burst=True)
            try:
                await worker.main()
            finally:
                await worker.close()
            assert worker.jobs_failed == 0
            if check():
                return
            assert time.monotonic() < deadline, "the bot did not answer in time"
            await asyncio.sleep(0.1)
    finally:
        await github.aclose()


def comments(person: Any, repo: str, number: int) -> list[tuple[str, str]]:
    owner, name = repo.split("/")
    listed = person.rest.issues.list_comments(owner, name, number).parsed_data
    return [(c.user.login, c.body or "") for c in listed]


async def test_label_then_commands_on_ghsim(stack: Stack, redis: aioredis.Redis) -> None:
    alice = stack.sim.person("alice")
    repo_name = unique("intake")
    alice.rest.repos.create_for_authenticated_user(name=repo_name, auto_init=True)
    repo = f"alice/{repo_name}"
    issue = alice.rest.issues.create("alice", repo_name, title="Greet in French").parsed_data
    alice.rest.issues.add_labels("alice", repo_name, issue.number, labels=["pilot"])
    await work_until(stack, lambda: len(comments(alice, repo, issue.number)) == 1)

    [(author, body)] = comments(alice, repo, issue.number)
    assert author.endswith("[bot]")
    assert "Queued, asked by @alice." in body
    reactions = alice.rest.reactions.list_for_issue("alice", repo_name, issue.number).parsed_data
    assert [(r.content, r.user.login) for r in reactions] == [("eyes", author)]
    assert [m.decode() for m in await redis.zrange(jobs.RUN_QUEUE, 0, -1)] == [
        jobs.run_job_id(repo, issue.number)
    ]

    # bob may triage (so he can label) but not write: he gets one explanation, nothing else.
    alice.rest.repos.add_collaborator("alice", repo_name, "bob", permission="triage")
    bob = stack.sim.person("bob")
    bob.rest.issues.create_comment("alice", repo_name, issue.number, body="/pilot stop")
    # alice asks for help; the bot's own comments come back as webhooks and are ignored.
    alice.rest.issues.create_comment("alice", repo_name, issue.number, body="/pilot help")
    await work_until(stack, lambda: len(comments(alice, repo, issue.number)) == 5)
    await asyncio.sleep(0.5)
    await work_until(stack, lambda: True)  # the bot's own comments, delivered back, do nothing

    bodies = [b for a, b in comments(alice, repo, issue.number) if a.endswith("[bot]")]
    # Both comments were handled at once, so their answers may come in either order.
    assert len(bodies) == 3
    assert (
        sum("@bob only people with write, maintain or admin permission" in b for b in bodies) == 1
    )
    assert sum("`/pilot continue <text>`" in b for b in bodies) == 1
    assert [m.decode() for m in await redis.zrange(jobs.RUN_QUEUE, 0, -1)] == [
        jobs.run_job_id(repo, issue.number)
    ]


async def test_concurrent_github_calls_share_one_pool(tmp_path: Path) -> None:
    """githubkit closes a client per request; the shared pool must survive that."""
    (tmp_path / "ghsim").mkdir()
    sim = GhsimProcess(tmp_path / "ghsim", None).start()
    github = GitHubKitApp(
        int(sim.app_info["app_id"]),
        sim.private_key,
        sim.api_url,
        cache_strategy=MemCacheStrategy(),
        auto_retry=False,
    )
    try:
        name = unique("pool")
        sim.person("alice").rest.repos.create_for_authenticated_user(name=name)
        repo = Repo("alice", name)
        client = await github.client(repo, None)
        roles = await asyncio.gather(*(client.permission(repo, "alice") for _ in range(30)))
        assert roles == ["admin"] * 30
        assert await github.bot_login() == sim.app_info["bot_login"]
    finally:
        await github.aclose()
        sim.stop()
