"""Tools to show that code leaves the event loop free: a probe that measures the longest time
the loop went without running a ticking task, and a git that takes its time, as on a big
repository."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TICK_S = 0.05


@dataclass
class LoopProbe:
    """The longest gap between two ticks seen so far, in seconds."""

    max_gap: float = 0.0


@contextlib.asynccontextmanager
async def loop_probe() -> AsyncIterator[LoopProbe]:
    """Ticks every `TICK_S` while the body runs; anything holding the loop widens a gap."""
    probe = LoopProbe()
    started = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        started.set()
        while True:
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            probe.max_gap = max(probe.max_gap, now - last)
            last = now

    task = asyncio.create_task(tick())
    await started.wait()
    try:
        yield probe
    finally:
        # One more tick, so a stall at the very end of the body is measured too.
        await asyncio.sleep(TICK_S * 2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def slow_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delay_s: float) -> None:
    """Puts first on PATH a `git` that waits `delay_s` before running the real one."""
    real = shutil.which("git")
    assert real is not None
    shims = tmp_path / "slow-git"
    shims.mkdir()
    shim = shims / "git"
    shim.write_text(f'#!/bin/sh\nsleep {delay_s}\nexec {real} "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:{os.environ['PATH']}")
