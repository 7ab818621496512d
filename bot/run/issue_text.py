"""The issue a run works from: its snapshot, never a fresh read (pure)."""

from __future__ import annotations

from dataclasses import replace

from bot.core.snapshot import IssueSnapshot
from bot.run.host import IssueRef, RunTarget
from bot.run.state import RunState


def snapshot_of(state: RunState, target: RunTarget) -> IssueSnapshot:
    """The state's snapshot; a state written before snapshots existed takes one now, from
    the issue as it reads at this first session."""
    snapshot = IssueSnapshot.from_dict(state.snapshot)
    if snapshot is None:
        snapshot = IssueSnapshot.take(target.issue.title, target.issue.body)
        state.snapshot = snapshot.to_dict()
        state.hidden_ignored += snapshot.hidden
    return snapshot


def from_snapshot(state: RunState, target: RunTarget) -> RunTarget:
    """`target` with the issue text of the run's snapshot in place of the live one."""
    snapshot = snapshot_of(state, target)
    return replace(target, issue=IssueRef(target.issue.number, snapshot.title, snapshot.body))
