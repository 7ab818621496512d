"""The issue edited after the label: the run pauses where it is, the labeller is asked with the
diff, and a writer's `approve` makes the new text the run's snapshot and goes on. Until then
the agent sees only the text the labeller saw."""

from __future__ import annotations

import difflib
from typing import Any, Protocol

from bot.core.snapshot import IssueSnapshot
from bot.core.templates import render
from bot.core.text import cut
from bot.run.issue_text import from_snapshot, snapshot_of
from bot.run.kernel import Run
from bot.run.phases.ci import CiHost, on_ci
from bot.run.phases.resume import finish_interrupted
from bot.run.phases.review import ReviewHost
from bot.run.phases.start import StartHost, start
from bot.run.state import Phase, RunState

# Phases of the start path: after an approved edit, the start path picks up where it was.
START_PATH = frozenset(
    {Phase.QUEUED, Phase.PLAN, Phase.SETUP, Phase.EXECUTE, Phase.CHECK, Phase.PULL_REQUEST}
)
# A run that ended waits for no text: a new label takes a new snapshot.
NOT_PAUSED = frozenset({Phase.STOPPED, Phase.FAILED})
MAX_DIFF_CHARS = 6000


class EditsHost(StartHost, CiHost, ReviewHost, Protocol):
    """Going on after an edit may go anywhere the run was: the start path, CI, a review."""


def diff_text(old: IssueSnapshot, new: IssueSnapshot) -> str:
    """A unified diff of the title and body, as the agent would see them (pure)."""
    before = [f"# {old.title}", "", *old.body.splitlines()]
    after = [f"# {new.title}", "", *new.body.splitlines()]
    lines = difflib.unified_diff(before, after, "before", "after", lineterm="")
    return cut("\n".join(lines), MAX_DIFF_CHARS)


def _what_changed(old: IssueSnapshot, new: IssueSnapshot) -> str:
    changed = [name for name in ("title", "body") if getattr(old, name) != getattr(new, name)]
    return " and ".join(changed) or "hidden text"


async def on_edited(run: Run[EditsHost], state: RunState, event: dict[str, Any]) -> None:
    """The `edited` event: a text unlike the snapshot pauses the run and asks the labeller."""
    assert run.target is not None
    if run.deps.signals is not None:
        await run.deps.signals.clear_pause(run.repo_full_name, state.issue)
    new = IssueSnapshot.take(str(event.get("title") or ""), str(event.get("body") or ""))
    current = snapshot_of(state, run.target)
    if new.sha256 == current.sha256:
        # Edited back to what the labeller saw, or a pause for a text that changed nothing.
        state.pending_edit = None
        if state.phase is Phase.WAIT_EDIT:
            await go_on_after_edit(run, state)
        return
    if state.phase in NOT_PAUSED:
        run.record(kind="ignored", edit=new.sha256, why=f"run {state.phase.value}")
        return
    pending = IssueSnapshot.from_dict(state.pending_edit)
    if pending is not None and pending.sha256 == new.sha256 and state.phase is Phase.WAIT_EDIT:
        return  # this edit was asked about already
    state.pending_edit = {**new.to_dict(), "by": str(event.get("by") or "")}
    if state.phase is not Phase.WAIT_EDIT:
        state.paused_from = state.phase.value
    diff = diff_text(current, new)
    body = render(
        "comments/issue_edited.md.j2",
        requested_by=state.requested_by,
        what=_what_changed(current, new),
        editor=str(event.get("by") or "someone"),
        hidden=new.hidden,
        diff=diff,
        prefix=run.deps.command_prefix,
    )
    await run.host.post_once(f"edit-{new.sha256[:16]}", body)
    await run.save(state, Phase.WAIT_EDIT)


def approve_edit(run: Run[EditsHost], state: RunState, sender: str) -> str:
    """`approve` while the run waits on an edit: the new text becomes the snapshot. Returns
    the reply to the person."""
    assert run.target is not None
    pending = IssueSnapshot.from_dict(state.pending_edit)
    if pending is not None:
        state.snapshot = pending.to_dict()
        state.hidden_ignored += pending.hidden
        run.target = from_snapshot(state, run.target)
    state.pending_edit = None
    return f"The edited issue text is approved by @{sender}; going on with it."


async def go_on_after_edit(run: Run[EditsHost], state: RunState) -> None:
    """Back to the phase the edit paused, and on from there with the run's snapshot."""
    before = Phase(state.paused_from or Phase.QUEUED.value)
    state.paused_from = None
    if run.deps.signals is not None:
        await run.deps.signals.clear_pause(run.repo_full_name, state.issue)
    if state.working is not None:
        state.phase = Phase.EXECUTE
        await finish_interrupted(run, state)
        return
    if before is Phase.WAIT_APPROVAL:
        # The plan was made from the old text: plan again, and wait for approval again.
        state.tree = None
        state.phase = Phase.QUEUED
        await start(run, state)
        return
    if before in START_PATH:
        state.phase = before
        await start(run, state)
        return
    await run.save(state, before)
    if before is Phase.AWAIT_CI and state.ci_sha:
        # CI may have finished while the run was paused; its event found the run elsewhere.
        await on_ci(run, state, state.ci_sha, force=True)
