"""Coalesced status edits: at most one per interval, the last state wins, nothing lost."""

from __future__ import annotations

import asyncio

from bot.run.controller import stale_ci
from bot.run.state import Phase, RunState
from bot.run.status_edits import CoalescedComment, delay_before_write


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_delay_is_zero_first_urgent_or_after_the_interval() -> None:
    assert delay_before_write(False, None, 100.0, 5.0) == 0
    assert delay_before_write(True, 99.0, 100.0, 5.0) == 0
    assert delay_before_write(False, 99.0, 100.0, 5.0) == 4.0
    assert delay_before_write(False, 90.0, 100.0, 5.0) == 0


async def test_edits_within_the_interval_merge_and_flush_writes_the_last() -> None:
    written: list[str] = []

    async def write(body: str) -> None:
        written.append(body)

    clock = Clock()
    comment = CoalescedComment(write, 60.0, clock)
    await comment.submit("plan")
    await comment.submit("setup")
    await comment.submit("execute 1")
    assert written == ["plan"] and comment.pending == "execute 1"
    await comment.submit("asked: which file?", urgent=True)
    assert written == ["plan", "asked: which file?"] and comment.pending is None
    await comment.submit("execute 2")
    await comment.flush()
    assert written == ["plan", "asked: which file?", "execute 2"]
    await comment.flush()
    assert len(written) == 3


async def test_a_held_edit_goes_out_when_the_interval_is_over_without_a_flush() -> None:
    written: list[str] = []

    async def write(body: str) -> None:
        written.append(body)

    comment = CoalescedComment(write, 0.2)
    await comment.submit("plan")
    await comment.submit("setup")
    await comment.submit("execute")
    await asyncio.sleep(0.05)
    assert written == ["plan"]  # a crash now would lose at most these 0.2 s
    await asyncio.sleep(0.3)
    assert written == ["plan", "execute"]


async def test_a_failed_write_stays_pending_for_the_flush() -> None:
    written: list[str] = []
    fail = [True]

    async def write(body: str) -> None:
        if fail and body == "execute":
            fail.clear()
            raise RuntimeError("GitHub said 502")
        written.append(body)

    comment = CoalescedComment(write, 0.05)
    await comment.submit("plan")
    await comment.submit("execute")
    await asyncio.sleep(0.15)  # the timer's write failed and was kept
    assert comment.pending == "execute"
    await comment.flush()
    assert written == ["plan", "execute"]


def test_stale_ci_is_decided_from_the_state_alone() -> None:
    state = RunState(7, "ada")
    state.phase = Phase.AWAIT_CI
    state.ci_sha = "new"
    assert stale_ci(state, {"kind": "ci", "sha": "old"})
    assert not stale_ci(state, {"kind": "ci", "sha": "new"})
    state.mark_handled("ci:new")
    assert stale_ci(state, {"kind": "ci", "sha": "new"})
    assert not stale_ci(state, {"kind": "review", "sha": "old"})
    state.phase = Phase.EXECUTE
    assert stale_ci(state, {"kind": "ci", "sha": "new"})
    state.working = {"kind": "ci_fix"}
    assert not stale_ci(state, {"kind": "ci", "sha": "new"})
