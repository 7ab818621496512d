"""What a missed event would have done to a run, from its indexed state and GitHub's record
(pure): the reconciler's decision, as a Kubernetes controller's resync is.

Each action is an event the run's own jobs take (bot/run/dispatch.py), with a key that makes
it the same job as the event it stands in for where there is one, so a late delivery and the
reconciler never act twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.run.run_index import IndexEntry
from bot.run.state import START_PATH, Phase

# Phases that wait on people: nothing moves them but an answer, a command or a review, so
# the reconciler looks at them less often (`slow_every` passes).
PEOPLE = frozenset({Phase.ASKED, Phase.WAIT_APPROVAL, Phase.HELD, Phase.WAIT_EDIT, Phase.READY})


@dataclass(frozen=True)
class Truth:
    """GitHub's record of a run's issue and pull request, read by the reconciler."""

    issue_open: bool
    labels: tuple[str, ...]
    pull_state: str | None = None  # "open", "closed", or None without a pull request
    pull_merged: bool = False


@dataclass(frozen=True)
class Action:
    """An event for the run, and the key that names its job."""

    event: dict[str, Any]
    key: str
    why: str


def needs_truth(entry: IndexEntry, now: float, interval_s: float, slow_every: int) -> bool:
    """Whether this pass reads GitHub for the run: every pass for runs that work or wait on
    CI, every `slow_every` passes for runs that wait on people (their reads are the budget
    of an installation with many waiting runs)."""
    if Phase(entry.phase) not in PEOPLE:
        return True
    return _pass_of(now, interval_s) % max(slow_every, 1) == 0


def _pass_of(now: float, interval_s: float) -> int:
    return int(now // max(interval_s, 1.0))


def decide(
    entry: IndexEntry,
    truth: Truth,
    *,
    held: bool,
    now: float,
    interval_s: float,
    ci_timeout_s: float,
    trigger_label: str,
) -> list[Action]:
    """The events a run needs that nothing queued for it; [] when it is where it should be."""
    phase = Phase(entry.phase)
    bucket = _pass_of(now, interval_s)
    if truth.pull_state == "closed" and entry.pr_number is not None:
        # The end of the run, whatever it was doing: the handler's key, so one job in all.
        event = {"kind": "pull_closed", "pull": entry.pr_number, "merged": truth.pull_merged}
        return [Action(event, f"pr_closed:{entry.pr_number}", "its pull request was closed")]
    if not truth.issue_open:
        return [_stop("issue closed", bucket)]
    if entry.trigger == "label" and trigger_label not in truth.labels:
        return [_stop("label removed", bucket)]
    if held:
        return []  # a job works on it: it will say where the run rests
    # A run resting in a working phase without a lease lost its job.
    if phase in START_PATH or entry.working:
        return [Action({"kind": "resume"}, f"resume:{bucket}", "its job was lost")]
    if phase is Phase.AWAIT_CI and entry.ci_sha:
        sha = entry.ci_sha
        if entry.ci_pushed_at is not None and now >= entry.ci_pushed_at + ci_timeout_s:
            # The deferred time-out's own job id: a time-out still queued is not doubled.
            return [Action({"kind": "ci_timeout", "sha": sha}, f"ci_timeout:{sha}", "CI timed out")]
        # Costs the run's CI reads (2 or 3 requests), and nothing when CI is still running.
        return [Action({"kind": "ci", "sha": sha}, f"ci:{sha}:reconcile-{bucket}", "CI news")]
    return []


def _stop(reason: str, bucket: int) -> Action:
    event = {"kind": "stop", "reason": f"{reason} (found by the reconciler)", "by": ""}
    return Action(event, f"stop:reconcile:{bucket}", reason)
