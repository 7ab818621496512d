"""Housekeeping of the git cache on real mirrors and clones: dead clones past the age go, live
ones stay whatever their age; mirrors over the budget go least recently used first, never one a
fetch or a live clone uses."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.github.cache_prune import prune_cache
from bot.github.workspace import LAST_USED, Workspace, mirror_lock_path
from tests.ghsim_support import ROOT
from tests.github.test_workspace import commit_files, git

HOUR_S = 3600.0
NO_BUDGET = 10**12

CRASHED_WORKER = """
import asyncio, os, sys
from pathlib import Path
from bot.github.workspace import Workspace
cache, key, remote = sys.argv[1:]
run = asyncio.run(Workspace(Path(cache)).checkout(key, remote, None, "main", "pilot/x"))
print(run.path, flush=True)
os._exit(0)  # killed mid-run: no cleanup
"""


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    commit_files(seed, {"README.md": b"# demo\n", "data.bin": os.urandom(64 * 1024)}, "First")
    git(seed, "push", "-q", "origin", "main")
    return bare


def crashed_clone(cache: Path, key: str, remote: Path) -> Path:
    """The run clone a worker left when it died."""
    done = subprocess.run(
        [sys.executable, "-c", CRASHED_WORKER, str(cache), key, str(remote)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(done.stdout.strip())


def disk_bytes(path: Path) -> int:
    return sum(
        os.lstat(os.path.join(root, name)).st_blocks * 512
        for root, _, files in os.walk(path)
        for name in files
    )


def last_used(workspace: Workspace, key: str, when: float) -> Path:
    mirror = workspace.mirror_path(key)
    os.utime(mirror / LAST_USED, (when, when))
    return mirror


async def test_dead_clones_past_the_age_go_live_ones_stay(tmp_path: Path, origin: Path) -> None:
    cache = tmp_path / "cache"
    workspace = Workspace(cache)
    live = await workspace.checkout("alice/demo", str(origin), None, "main", "pilot/live")
    dead = crashed_clone(cache, "alice/demo", origin)
    dead_recent = crashed_clone(cache, "alice/demo", origin)
    for old in (live.path, dead):
        os.utime(old, (0, 0))
    pruned = prune_cache(cache, time.time(), HOUR_S, NO_BUDGET)
    assert pruned.clones == [dead.name] and pruned.mirrors == []
    assert not dead.exists() and dead_recent.exists()
    # The live clone, a month and more old, still works.
    assert await live.file_at_head("README.md") == b"# demo\n"
    live.cleanup()
    assert prune_cache(cache, time.time() + 2 * HOUR_S, HOUR_S, NO_BUDGET).clones == [
        dead_recent.name
    ]


async def test_mirrors_over_budget_go_least_recently_used_first(
    tmp_path: Path, origin: Path
) -> None:
    cache = tmp_path / "cache"
    workspace = Workspace(cache)
    keys = ["alice/one", "alice/two", "alice/three"]
    for key in keys:
        (await workspace.checkout(key, str(origin), None, "main", "pilot/x")).cleanup()
    one, two, three = (last_used(workspace, key, 1000.0 * (i + 1)) for i, key in enumerate(keys))
    leftover = one.with_name(f"{one.name}.evicted-0123abcd")  # a pass that died removing it
    leftover.mkdir()
    now = time.time()
    assert prune_cache(cache, now, HOUR_S, NO_BUDGET).mirrors == []
    assert not leftover.exists()

    pruned = prune_cache(cache, now, HOUR_S, disk_bytes(two) + disk_bytes(three))
    assert pruned.mirrors == [one.name]
    assert not one.exists() and two.exists() and three.exists()
    assert mirror_lock_path(one).exists()  # a checkout waiting on it keeps a valid lock

    # A fetch makes a mirror the most recently used: `two` now goes before `three`.
    (await workspace.checkout("alice/two", str(origin), None, "main", "pilot/x")).cleanup()
    last_used(workspace, "alice/three", 5000.0)
    assert prune_cache(cache, now, HOUR_S, disk_bytes(two)).mirrors == [three.name]

    # An evicted mirror is made again by the next checkout, which works as before.
    created = workspace.mirrors_created
    again = await workspace.checkout("alice/one", str(origin), None, "main", "pilot/y")
    assert workspace.mirrors_created == created + 1
    assert await again.file_at_head("README.md") == b"# demo\n"
    again.cleanup()


async def test_mirrors_in_use_are_never_evicted(tmp_path: Path, origin: Path) -> None:
    cache = tmp_path / "cache"
    workspace = Workspace(cache)
    borrowed = await workspace.checkout("alice/borrowed", str(origin), None, "main", "pilot/x")
    for key in ("alice/fetching", "alice/idle"):
        (await workspace.checkout(key, str(origin), None, "main", "pilot/x")).cleanup()
    oldest = last_used(workspace, "alice/borrowed", 1000.0)
    fetching = last_used(workspace, "alice/fetching", 2000.0)
    idle = last_used(workspace, "alice/idle", 3000.0)
    fd = os.open(mirror_lock_path(fetching), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a fetch in another worker holds
    try:
        assert prune_cache(cache, time.time(), HOUR_S, 0).mirrors == [idle.name]
        assert oldest.exists() and fetching.exists()
        # The live clone's borrowed objects are all still there.
        assert (await borrowed.tree_pack()).startswith(b"PACK")
    finally:
        os.close(fd)
    borrowed.cleanup()
    assert prune_cache(cache, time.time(), HOUR_S, 0).mirrors == [oldest.name, fetching.name]
