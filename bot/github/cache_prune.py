"""Housekeeping of the git cache: run clones no process holds and unused for longer than an
age go, and bare mirrors no checkout uses are evicted, least recently used first, until the rest
fits a size budget. Blocking filesystem work: call it in a thread.

A run clone is live while its `Checkout` holds the clone's flock (`workspace.CLONE_LOCK`); a
mirror is in use while a fetch holds its flock or a live clone borrows its objects. Eviction
takes the mirror's flock, under which checkouts fetch and make their clones, so no clone can
start borrowing a mirror that is being removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.core.retention import Entry, expired, over_budget
from bot.github.workspace import CLONE_LOCK, LAST_USED, MIRRORS, RUNS, mirror_lock_path

_EVICTED = ".evicted-"


@dataclass(frozen=True)
class CachePruned:
    """The names of what one pass removed."""

    clones: list[str]
    mirrors: list[str]


def prune_cache(cache_dir: Path, now: float, max_age_s: float, budget_bytes: int) -> CachePruned:
    """Remove dead run clones older than `max_age_s` and evict mirrors over `budget_bytes`."""
    runs, mirrors = cache_dir / RUNS, cache_dir / MIRRORS
    return CachePruned(
        _prune_clones(runs, now, max_age_s), _evict_mirrors(mirrors, runs, budget_bytes)
    )


@contextlib.contextmanager
def _try_lock(path: Path, create: bool) -> Iterator[bool | None]:
    """True while we hold `path`'s flock, False when another holder has it, None when there is
    no such file."""
    try:
        fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o600)
    except (FileNotFoundError, NotADirectoryError):
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the flock


def _held(path: Path) -> bool:
    with _try_lock(path, create=False) as got:
        return got is False


def _prune_clones(runs: Path, now: float, max_age_s: float) -> list[str]:
    if not runs.is_dir():
        return []
    entries: list[Entry] = []
    live: set[str] = set()
    for run_dir in runs.iterdir():
        with contextlib.suppress(FileNotFoundError):  # another worker removed it meanwhile
            entries.append(Entry(run_dir.name, run_dir.stat().st_mtime))
            if _held(run_dir / CLONE_LOCK):
                live.add(run_dir.name)
    # A dead clone never comes back to life (nothing reopens one), so no lock is kept here.
    removed = expired(entries, now, max_age_s, keep=live)
    for name in removed:
        shutil.rmtree(runs / name, ignore_errors=True)
    return removed


def _borrowed(runs: Path) -> set[str]:
    """Names of the mirrors whose objects a live run clone borrows."""
    names: set[str] = set()
    if not runs.is_dir():
        return names
    for run_dir in runs.iterdir():
        if not _held(run_dir / CLONE_LOCK):
            continue
        with contextlib.suppress(OSError):
            alternates = (run_dir / "objects" / "info" / "alternates").read_text()
            names.update(Path(line).parent.name for line in alternates.splitlines() if line)
    return names


def _disk_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # a fetch repacking meanwhile
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def _mirror_entry(mirror: Path) -> Entry:
    try:
        last_used = (mirror / LAST_USED).stat().st_mtime
    except FileNotFoundError:  # made before last uses were recorded
        last_used = mirror.stat().st_mtime
    return Entry(mirror.name, last_used, _disk_bytes(mirror))


def _evict_mirrors(mirrors: Path, runs: Path, budget_bytes: int) -> list[str]:
    if not mirrors.is_dir():
        return []
    for leftover in mirrors.glob(f"*.git{_EVICTED}*"):  # a pass that died while removing
        shutil.rmtree(leftover, ignore_errors=True)
    entries: list[Entry] = []
    for mirror in mirrors.glob("*.git"):
        with contextlib.suppress(FileNotFoundError):
            entries.append(_mirror_entry(mirror))
    busy = {e.name for e in entries if _held(mirror_lock_path(mirrors / e.name))}
    evicted: list[str] = []
    for name in over_budget(entries, budget_bytes, keep=busy | _borrowed(runs)):
        mirror = mirrors / name
        trash = mirror.with_name(f"{name}{_EVICTED}{uuid.uuid4().hex[:8]}")
        with _try_lock(mirror_lock_path(mirror), create=True) as got:
            # Looked at again under the lock: a checkout may have started since the scan.
            if not got or name in _borrowed(runs):
                continue
            try:
                # Renamed first, so a half-removed mirror is never taken for a usable one.
                mirror.rename(trash)
            except FileNotFoundError:  # another worker's housekeeping evicted it
                continue
        shutil.rmtree(trash, ignore_errors=True)
        evicted.append(name)
    return evicted
