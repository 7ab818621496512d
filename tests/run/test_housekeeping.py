"""The housekeeping cron on real directories and a real Redis: trajectories of idle runs go
unless a worker holds the run, dead run clones go, mirrors over the budget go least recently
used first; and the run worker schedules it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import redis.asyncio as aioredis

from bot.core.retention import DAY_S
from bot.core.settings import Settings
from bot.github.backend import GitHubKitApp
from bot.github.workspace import LAST_USED, Workspace
from bot.run.housekeeping import housekeeping, prune_trajectories
from bot.run.lease import lease
from bot.run.state import run_dir_name
from bot.run.worker import build_run_worker
from tests.github.test_cache_prune import crashed_clone
from tests.github.test_workspace import commit_files, git
from tests.sandbox_fake import LocalSandboxes

LONG_AGO = time.time() - 30 * DAY_S


def run_dir(runs: Path, issue: int, age_files: bool = True) -> Path:
    path = runs / run_dir_name("alice/demo", issue)
    path.mkdir(parents=True)
    (path / "trajectory.jsonl").write_text('{"kind": "step"}\n')
    if age_files:
        os.utime(path / "trajectory.jsonl", (LONG_AGO, LONG_AGO))
    os.utime(path, (LONG_AGO, LONG_AGO))
    return path


async def test_idle_runs_go_unless_held(tmp_path: Path, redis: aioredis.Redis) -> None:
    runs = tmp_path / "runs"
    idle, held, written_lately = run_dir(runs, 1), run_dir(runs, 2), run_dir(runs, 3, False)
    fresh = runs / run_dir_name("alice/demo", 4)
    fresh.mkdir()
    async with lease(redis, held.name, "a-worker"):
        removed = await prune_trajectories(redis, runs, time.time(), 14 * DAY_S)
    assert removed == [idle.name]
    assert not idle.exists() and held.exists() and written_lately.exists() and fresh.exists()
    assert await prune_trajectories(redis, tmp_path / "none", time.time(), DAY_S) == []


async def test_the_cron_prunes_runs_clones_and_mirrors(
    tmp_path: Path, redis: aioredis.Redis
) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    # Incompressible: each mirror takes about 700 KiB, two of them more than the 1 MiB budget.
    commit_files(seed, {"blob.bin": os.urandom(700 * 1024)}, "First")
    git(seed, "push", "-q", "origin", "main")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        runs_dir=tmp_path / "runs",
        cache_dir=tmp_path / "cache",
        prune_after_days=1,
        mirror_cache_mb=1,
    )
    workspace = Workspace(settings.cache_dir)
    for key in ("alice/older", "alice/newer"):
        (await workspace.checkout(key, str(origin), None, "main", "pilot/x")).cleanup()
    older = workspace.mirror_path("alice/older")
    os.utime(older / LAST_USED, (LONG_AGO, LONG_AGO))
    dead = crashed_clone(settings.cache_dir, "alice/newer", origin)
    os.utime(dead, (LONG_AGO, LONG_AGO))
    live = await workspace.checkout("alice/newer", str(origin), None, "main", "pilot/y")
    os.utime(live.path, (LONG_AGO, LONG_AGO))
    idle = run_dir(settings.runs_dir, 1)
    try:
        await housekeeping({"settings": settings, "redis": redis})
        assert not idle.exists() and not dead.exists() and not older.exists()
        assert live.path.exists() and workspace.mirror_path("alice/newer").exists()
    finally:
        live.cleanup()


def test_the_run_worker_runs_it_every_hour(settings: Settings, github_app: GitHubKitApp) -> None:
    worker = build_run_worker(settings, github_app, None, LocalSandboxes(), burst=True)
    [job] = [job for job in worker.cron_jobs if job.coroutine is housekeeping]
    assert job.minute == {17} and job.hour is None and not job.run_at_startup
