"""A run's durable state: what the status comment's hidden block holds, and how it reads."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from bot.agent.llm import Usage
from bot.core.branches import is_run_branch
from bot.core.text import cut
from bot.sandbox.api import CommandResult

STATE_VERSION = 1


class Phase(StrEnum):
    QUEUED = "queued"
    PLAN = "plan"
    WAIT_APPROVAL = "wait_approval"
    SETUP = "setup"
    EXECUTE = "execute"
    CHECK = "check"
    PULL_REQUEST = "pull_request"
    AWAIT_CI = "await_ci"
    ASKED = "asked"
    STOPPED = "stopped"
    FAILED = "failed"
    READY = "ready"
    MERGED = "merged"
    CLOSED = "closed"
    HELD = "held"  # the work waits on refs/pilot/<n> for a writer's `approve` (run/hold_rule.py)
    # The issue's title or body changed after the label; a writer's `approve` takes the new text.
    WAIT_EDIT = "wait_edit"


# A start_run job that finds one of these has nothing left to do: only a person (or CI, with
# the next issue's loop) moves the run on.
RESTING_PHASES = frozenset(
    {
        Phase.WAIT_APPROVAL,
        Phase.HELD,
        Phase.WAIT_EDIT,
        Phase.AWAIT_CI,
        Phase.ASKED,
        Phase.STOPPED,
        Phase.FAILED,
        Phase.READY,
        Phase.MERGED,
        Phase.CLOSED,
    }
)

# Phases of the start path a job works through (planning to opening the pull request): a run
# left in one with no job on it is resumed (bot/run/reconcile.py).
START_PATH = frozenset(
    {Phase.QUEUED, Phase.PLAN, Phase.SETUP, Phase.EXECUTE, Phase.CHECK, Phase.PULL_REQUEST}
)

# Phases a run never leaves by itself or by a command; only a new run starts over.
FINAL_PHASES = frozenset({Phase.MERGED, Phase.CLOSED})
# Where a run comes to an end; a request to run after one is a new attempt (run/restart.py).
ENDINGS = frozenset({Phase.STOPPED, Phase.FAILED, *FINAL_PHASES})


@dataclass
class LocalCheck:
    command: str
    exit_code: int | None
    timed_out: bool
    output_tail: str

    @classmethod
    def of(cls, command: str, result: CommandResult) -> LocalCheck:
        return cls(command, result.exit_code, result.timed_out, cut(result.output, 3000))

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass
class RunState:
    issue: int
    requested_by: str
    phase: Phase = Phase.QUEUED
    started_at: float = field(default_factory=time.time)
    branch: str | None = None
    base_branch: str | None = None
    tree: list[dict[str, Any]] | None = None
    approved: bool = False
    pr_number: int | None = None
    pr_url: str | None = None
    # True when the pull request is a normal one titled `[WIP] …` (the repository has no
    # drafts): marking it ready is then dropping that prefix.
    pr_wip: bool | None = None
    head_sha: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    steps: int = 0
    check: LocalCheck | None = None
    question: str | None = None
    error: str | None = None
    attempt: int = 1
    # Why the run waits for a person: "execute" (a node), "ci" (the fix budget is spent),
    # "review"; with the node or review it concerns.
    parked: dict[str, Any] | None = None
    answers: dict[str, list[str]] = field(default_factory=dict)
    token_base: int = 0  # tokens used before the last `retry`, outside the fresh budget
    ci_sha: str | None = None
    ci_pushed_at: float | None = None
    ci_attempt: int = 0
    ci_extra: int = 0  # attempts people granted beyond the budget with `continue`
    ci_history: list[dict[str, Any]] = field(default_factory=list)
    best_sha: str | None = None
    # The awaited sha's red checks as first judged, what the base branch said of them, and
    # the workflow runs re-run on it (run id → attempt re-run) while their new attempts
    # run (bot/run/phases/ci.py): at most one re-run per sha.
    ci_triage: dict[str, Any] | None = None
    handled: list[str] = field(default_factory=list)
    outcome: str | None = None
    # When the run last came to an end (stopped, failed, merged, closed): a request to run
    # made before then (a replayed delivery) starts nothing.
    ended_at: float | None = None
    # What asked for the run: `label`, or `command` (`/pilot run`, which needs no label).
    trigger: str = "label"
    # The issue text the run works from (bot/core/snapshot.py), an edit of it waiting for a
    # writer's `approve`, the phase the edit paused, and the hidden fragments people's text
    # held that no prompt got.
    snapshot: dict[str, Any] | None = None
    pending_edit: dict[str, Any] | None = None
    paused_from: str | None = None
    hidden_ignored: int = 0
    # A follow-up the agent was on (a CI fix, a review, an answer) when the worker stopped.
    working: dict[str, Any] | None = None
    iterations: int = 0  # the highest follow-up number so far: every `ci-<n>` node is new
    # The run's one fix of a failing local check before the pull request was spent.
    check_fixed: bool = False
    # Whether the work is held off the branch for a writer's review, and what was shown for
    # it (run/hold_rule.py); None until the run decides, at its start.
    hold: dict[str, Any] | None = None
    # `/pilot retry attempts=N`: candidates per requirement from then on, over the config's.
    attempts: int | None = None
    # The attempts tree's scores (bot/run/candidates.py), the last few, for the dashboard;
    # the whole of each candidate is in the trajectory.
    candidates: list[dict[str, Any]] = field(default_factory=list)
    # Set-up found in the repository's files without a `setup:` in .github/pilot.yml
    # (bot/run/setup_detect.py): `commands`, their `sources`, and whether the last session `ran`
    # them (network during set-up allowed) or the PR body only suggests them.
    detected_setup: dict[str, Any] | None = None
    # Tests the repository's test command ran (bot/run/phases/test_guard.py): `base` before
    # the agent's first change, `head` in the last local check, each with its commit.
    test_counts: dict[str, Any] = field(default_factory=dict)
    # What the guard before `ready` found on the head it judged: `findings` waiting for a
    # person, the keys of those people confirmed (`confirmed`, by `by`), why it would be ready.
    test_guard: dict[str, Any] | None = None

    @property
    def numbers(self) -> list[int]:
        """Where people talk to the run: its issue and, once there is one, its PR."""
        return [self.issue, *([self.pr_number] if self.pr_number else [])]

    @property
    def usage(self) -> Usage:
        return Usage(self.prompt_tokens, self.completion_tokens)

    def add_usage(self, usage: Usage) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens

    @property
    def budget_tokens_used(self) -> int:
        return self.prompt_tokens + self.completion_tokens - self.token_base

    def mark_handled(self, key: str) -> None:
        """Remembers an event the run acted on; the last 50 are enough to refuse repeats."""
        self.handled = [*self.handled[-49:], key]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["phase"] = self.phase.value
        data["v"] = STATE_VERSION
        return {k: v for k, v in data.items() if v is not None and v != [] and v != {}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        """Reads what any earlier writer left, the queued stub of `request_run` included."""
        known = {f for f in cls.__dataclass_fields__ if f in data}
        values = {k: data[k] for k in known}
        values["phase"] = Phase(values.get("phase", Phase.QUEUED))
        check = values.get("check")
        values["check"] = LocalCheck(**check) if isinstance(check, dict) else None
        branch, issue = values.get("branch"), values.get("issue")
        if branch is not None and not is_run_branch(str(branch), int(issue or 0)):
            # People with write can edit the status comment; the bot pushes only to the
            # branch its own name gives the issue, never to one a state block names.
            values["branch"] = None
        return cls(**values)


def run_dir_name(repo_full_name: str, issue: int) -> str:
    return f"{repo_full_name.replace('/', '__')}__issue-{issue}"
