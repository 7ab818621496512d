"""The run worker's housekeeping cron: trajectories of runs idle for `PILOT_PRUNE_AFTER_DAYS`
(unless a worker holds the run's lease), dead run clones as old, and mirrors over
`PILOT_MIRROR_CACHE_MB`, least recently used first. Disk work runs in a thread, off the loop."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bot.core.retention import DAY_S, Entry, expired
from bot.core.settings import Settings
from bot.github.cache_prune import prune_cache
from bot.run.lease import is_held

log = logging.getLogger("pilot.housekeeping")


def _run_dirs(runs_dir: Path) -> list[Entry]:
    """Each run's directory, last used when it or a file in it last changed (a trajectory
    line, a saved state)."""
    if not runs_dir.is_dir():
        return []
    entries: list[Entry] = []
    for run_dir in runs_dir.iterdir():
        try:
            if not run_dir.is_dir():
                continue
            last = run_dir.stat().st_mtime
            with os.scandir(run_dir) as inside:
                for item in inside:
                    last = max(last, item.stat(follow_symlinks=False).st_mtime)
        except FileNotFoundError:  # removed meanwhile
            continue
        entries.append(Entry(run_dir.name, last))
    return entries


def _remove(runs_dir: Path, names: list[str]) -> None:
    for name in names:
        shutil.rmtree(runs_dir / name, ignore_errors=True)


async def prune_trajectories(
    redis: aioredis.Redis, runs_dir: Path, now: float, max_age_s: float
) -> list[str]:
    """Removes the directories of runs idle for longer than `max_age_s` that no worker holds;
    returns their names (the run ids)."""
    entries = await asyncio.to_thread(_run_dirs, runs_dir)
    idle = expired(entries, now, max_age_s)
    # Asked only of idle runs: one Redis call each, for what may go.
    live = {name for name in idle if await is_held(redis, name)}
    removed = expired(entries, now, max_age_s, keep=live)
    await asyncio.to_thread(_remove, runs_dir, removed)
    return removed


async def housekeeping(ctx: dict[str, Any]) -> None:
    """The cron job: prunes runs, run clones and mirrors of this worker's host."""
    settings: Settings = ctx["settings"]
    now = time.time()
    max_age_s = settings.prune_after_days * DAY_S
    runs = await prune_trajectories(ctx["redis"], settings.runs_dir, now, max_age_s)
    cache = await asyncio.to_thread(
        prune_cache, settings.cache_dir, now, max_age_s, settings.mirror_cache_mb * 1024**2
    )
    if runs or cache.clones or cache.mirrors:
        log.info(
            "housekeeping",
            extra={"runs": runs, "clones": cache.clones, "mirrors": cache.mirrors},
        )
