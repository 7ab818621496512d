"""What the repository's CI says about a commit, and what a fix needs to read from it (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.github.api import CheckRunInfo, CheckSuiteInfo, JobLog, StatusInfo, WorkflowRunInfo

# none: nothing reported; quiet: everything completed but only skipped or neutral, which is
# no CI either (a workflow whose jobs all skipped tested nothing); approval: workflow runs
# wait for a maintainer to approve them; broken: nothing failed but workflow runs that
# never started a job (a workflow file GitHub refuses), so nothing was tested either.
CiState = Literal["none", "pending", "approval", "red", "green", "quiet", "broken"]

PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})
QUIET_CONCLUSIONS = frozenset({"neutral", "skipped"})
# "Approving workflow runs from forks": a held run is completed with this conclusion.
APPROVAL_CONCLUSION = "action_required"
# A run GitHub could not start: `failure` with no jobs, or `startup_failure`. A run cancelled
# before its jobs (a newer push in its concurrency group) is not one.
BROKEN_CONCLUSIONS = frozenset({"failure", "startup_failure"})
FAILING_STATUSES = frozenset({"failure", "error"})

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?", re.MULTILINE)
_ERROR = re.compile(
    r"error|FAIL|Traceback|assert|exit (?:code|status)|exception|panic|fatal|"
    r"\bE\s{2,}|npm ERR!|✗|✖",
    re.IGNORECASE,
)
CONTEXT_BEFORE = 3
CONTEXT_AFTER = 3
TAIL_LINES = 40
MAX_LINE = 400


@dataclass(frozen=True)
class CiVerdict:
    """`pending` while anything runs (failing may already be known), `approval` while
    workflow runs wait for a maintainer, then `red`, `green`, `quiet` or `broken`."""

    state: CiState
    failing: list[str] = field(default_factory=list)
    passing: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    approval: list[str] = field(default_factory=list)
    # Workflow runs that failed before any job: their files are refused, not the code.
    broken: list[str] = field(default_factory=list)


def latest_check_runs(check_runs: Iterable[CheckRunInfo]) -> list[CheckRunInfo]:
    """The newest run (highest id) of each (app, name); a re-run supersedes the older one."""
    latest: dict[tuple[str, str], CheckRunInfo] = {}
    for run in check_runs:
        key = (run.app_slug.lower(), run.name)
        if key not in latest or run.id > latest[key].id:
            latest[key] = run
    return sorted(latest.values(), key=lambda r: r.id)


def _own(slug: str, own_app_slug: str) -> bool:
    return bool(own_app_slug) and slug.lower() == own_app_slug.lower()


def verdict(
    check_runs: Iterable[CheckRunInfo],
    statuses: Iterable[StatusInfo],
    own_app_slug: str,
    workflow_runs: Iterable[WorkflowRunInfo] = (),
    suites: Iterable[CheckSuiteInfo] = (),
) -> CiVerdict:
    """Check runs, commit statuses, workflow runs and check suites of one commit, less what
    our own App made.

    CI is done only when every workflow run and every suite holding check runs has
    completed: a job waiting on `needs:` has no check run yet, so completed check runs
    alone say nothing about the jobs still to come.
    """
    failing: list[str] = []
    passing: list[str] = []
    pending: list[str] = []
    approval: list[str] = []
    broken: list[str] = []
    succeeded = False
    for run in latest_check_runs(r for r in check_runs if not _own(r.app_slug, own_app_slug)):
        if run.status != "completed":
            pending.append(run.name)
        elif run.conclusion in PASSING_CONCLUSIONS:
            passing.append(run.name)
            succeeded = succeeded or run.conclusion not in QUIET_CONCLUSIONS
        else:
            # failure, cancelled, timed_out, action_required, startup_failure, stale and
            # anything GitHub adds later: never taken as a pass.
            failing.append(run.name)
    seen: set[str] = set()
    for status in statuses:
        # Listed newest first (as GitHub lists them); the first of a context is its state.
        if status.context in seen or _own(status.creator.removesuffix("[bot]"), own_app_slug):
            continue
        seen.add(status.context)
        if status.state == "success":
            passing.append(status.context)
            succeeded = True
        elif status.state in FAILING_STATUSES:
            failing.append(status.context)
        else:
            pending.append(status.context)
    suites = list(suites)
    jobs_of: dict[int | None, int] = {suite.id: suite.check_runs for suite in suites}
    for workflow in workflow_runs:
        if workflow.status != "completed":
            pending.append(f"workflow {workflow.name}")
        elif workflow.conclusion == APPROVAL_CONCLUSION:
            approval.append(workflow.name)
        elif workflow.conclusion in BROKEN_CONCLUSIONS and jobs_of.get(workflow.suite_id) == 0:
            broken.append(workflow.name)
        elif workflow.conclusion not in PASSING_CONCLUSIONS and not failing:
            # Failed with no failing check of its own (one we could not read, or cancelled).
            failing.append(f"workflow {workflow.name}")
    for suite in suites:
        if (
            suite.check_runs
            and suite.status != "completed"
            and not _own(suite.app_slug, own_app_slug)
        ):
            pending.append(f"check suite of {suite.app_slug or 'an app'}")
    state: CiState
    if pending:
        state = "pending"
    elif approval:
        state = "approval"
    elif failing:
        state = "red"
    elif broken:
        state = "broken"
    elif succeeded:
        state = "green"
    elif passing:
        state = "quiet"
    else:
        state = "none"
    return CiVerdict(state, failing, passing, pending, approval, broken)


def _clean(text: str) -> list[str]:
    text = _STAMP.sub("", _ANSI.sub("", text.replace("\r\n", "\n")))
    lines = []
    for line in text.split("\n"):
        line = line.rsplit("\r", 1)[-1]  # a progress bar redrawn in place: its last state
        if len(line) > MAX_LINE:
            line = line[:MAX_LINE] + f" [... {len(line) - MAX_LINE} chars cut]"
        lines.append(line)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _cut(count: int) -> str:
    return f"[... {count} line{'s' if count != 1 else ''} cut ...]"


def _render(lines: list[str], kept: set[int]) -> str:
    out: list[str] = []
    previous = -1
    for i in sorted(kept):
        if i > previous + 1:
            out.append(_cut(i - previous - 1))
        out.append(lines[i])
        previous = i
    if previous < len(lines) - 1:
        out.append(_cut(len(lines) - 1 - previous))
    return "\n".join(out)


def trim_log(text: str, max_chars: int = 6000) -> str:
    """A CI log cut to its error lines (with context) and its tail, at most `max_chars` long.

    ANSI escapes and the runner's timestamps go first; what is cut leaves a marker.
    """
    lines = _clean(text)
    whole = "\n".join(lines)
    if len(whole) <= max_chars:
        return whole
    if max_chars < 100:
        return whole[-max_chars:]
    kept: set[int] = set()
    tail_budget = max_chars * 2 // 5
    size = 0
    for i in range(len(lines) - 1, max(len(lines) - 1 - TAIL_LINES, -1), -1):
        size += len(lines[i]) + 1
        if size > tail_budget and kept:
            break
        kept.add(i)
    for i, line in enumerate(lines):
        if not _ERROR.search(line):
            continue
        window = set(range(max(0, i - CONTEXT_BEFORE), min(len(lines), i + CONTEXT_AFTER + 1)))
        if len(_render(lines, kept | window)) > max_chars:
            break
        kept |= window
    out = _render(lines, kept)
    if len(out) > max_chars:  # a tail of very long lines: keep its end
        marker = "[... cut ...]\n"
        out = marker + out[-(max_chars - len(marker)) :]
    return out


def failure_notes(
    result: CiVerdict,
    check_runs: Sequence[CheckRunInfo],
    logs: Sequence[JobLog],
    max_chars: int = 12000,
    statuses: Sequence[StatusInfo] = (),
) -> list[str]:
    """One note per failing check or status, with its output and trimmed job log, in budget.

    Check runs of GitHub Actions jobs carry the job's name, which is how logs find theirs.
    """
    failing = set(result.failing)
    runs = [r for r in latest_check_runs(check_runs) if r.name in failing]
    named = {r.name for r in runs}
    failed_statuses = [s for s in statuses if s.context in failing and s.context not in named]
    orphan_logs = [log for log in logs if log.name not in named]
    count = len(runs) + len(failed_statuses) + len(orphan_logs)
    if not count:
        return []
    share = max(max_chars // count, 400)
    notes: list[str] = []
    for run in runs:
        parts = [f"Check `{run.name}` ({run.app_slug or 'unknown app'}): {run.conclusion}"]
        parts += [p.strip() for p in (run.title, run.summary, run.text) if p.strip()]
        if run.html_url:
            parts.append(run.html_url)
        log = next((j for j in logs if j.name == run.name), None)
        if log is not None:
            parts.append(f"Log of job `{log.name}`:")
        notes.append(_note("\n".join(parts), None if log is None else log.log, share))
    for status in failed_statuses:
        note = f"Status `{status.context}`: {status.state}"
        if status.description:
            note += f" ({status.description})"
        if status.target_url:
            note += f"\n{status.target_url}"
        notes.append(_note(note, None, share))
    for job in orphan_logs:
        notes.append(_note(f"Job `{job.name}`: {job.conclusion}\nLog:", job.log, share))
    return notes


def _note(header: str, log: str | None, budget: int) -> str:
    """`header` (at most half the budget when a log follows) and the trimmed log after it."""
    limit = budget if log is None else budget // 2
    if len(header) > limit:
        header = header[: limit - 6] + " [...]"
    if log is None:
        return header
    room = budget - len(header) - 1
    body = trim_log(log, room) if log.strip() else "(no log)"
    return f"{header}\n{body}"
