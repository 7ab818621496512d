"""The issue a run works from: its snapshot, never a fresh read, except to get back the part of
a long issue the snapshot could not keep (pure)."""

from __future__ import annotations

from dataclasses import replace

from bot.core.snapshot import IssueSnapshot, digest
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


# Where a snapshot keeps only the head of the issue and GitHub's text is not the one it names.
CUT_NOTE = "\n\n[... the rest of the issue's text is not kept here ...]"


def from_snapshot(state: RunState, target: RunTarget) -> RunTarget:
    """`target` with the issue text of the run's snapshot in place of the live one.

    The state block keeps at most the head of a long body (bot/core/snapshot.py); the host
    then reads the issue (GitHubRunHost.target), and while GitHub holds exactly the text the
    snapshot's hash names, all of it is what the run works from. An issue edited since is
    never read in its place: that waits for a writer's `approve` (bot/run/phases/edits.py).
    """
    snapshot = snapshot_of(state, target)
    live = target.issue
    body = snapshot.body
    if snapshot.cut:
        if digest(live.title, live.body) == snapshot.sha256:
            body = IssueSnapshot.take(live.title, live.body, limit=None).body
        else:
            body += CUT_NOTE
    return replace(target, issue=IssueRef(live.number, snapshot.title, body))
