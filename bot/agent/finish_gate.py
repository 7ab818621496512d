"""The finish gate, like SWE-agent's review on submit: a `finish` is refused once for each thing
that is plainly wrong with it (nothing changed; the test command fails; tests were deleted or
weakened; the base's tests fail against the change), with the diff and the failing output in the
answer. Scratch files the agent made are removed when it finishes, unless it keeps them.

`review` decides from what `inspect` gathered; `inspect` is the thin part that asks the sandbox.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from bot.agent.observations import command_observation
from bot.agent.test_weakening import findings, is_test_file
from bot.core.templates import render
from bot.core.text import cut
from bot.sandbox.api import WORKSPACE, CommandResult, Sandbox
from bot.sandbox.scripts import base_tests_line

GATE_TIMEOUT_S = 300.0
DIFF_CHARS = 3000
OUTPUT_CHARS = 3000
# Throwaway names count at the workspace's top only, where agents put them: a new
# `src/pkg/debug.py` is more likely the work itself, and removing it after the tests passed would
# break the change unseen. Leftover suffixes count anywhere.
SCRATCH = re.compile(
    r"^(repro|reproduce|scratch|debug|tmp|temp|try|test_output|output)([._-].*)?$", re.IGNORECASE
)
LEFTOVER = re.compile(r"\.(log|orig|rej|bak|tmp)$", re.IGNORECASE)


@dataclass(frozen=True)
class Change:
    code: str  # git's porcelain status, such as "??", " M", " D"
    path: str

    @property
    def new(self) -> bool:
        return self.code == "??"


@dataclass(frozen=True)
class Gathered:
    """What the gate looked at, from the sandbox."""

    changes: tuple[Change, ...]
    diff: str  # this node's diff (tracked files)
    session_diff: str  # the diff since the session's base: what tests it weakens
    tests: CommandResult | None = None  # the test command on the change
    base_tests: CommandResult | None = None  # the same with the base's test files


@dataclass
class FinishGate:
    sandbox: Sandbox
    test_command: str | None
    refused: set[str] = field(default_factory=set)

    async def inspect(self, keep: Collection[str], timeout_s: float) -> Gathered:
        status = await self.sandbox.run("git -c core.quotepath=off status --porcelain -uall", 60)
        changes = tuple(
            change for change in parse_status(status.output) if not is_scratch(change, keep)
        )
        diff = (await self.sandbox.run("git diff HEAD --", 60)).output
        root = "$(git rev-list --max-parents=0 HEAD | tail -n 1)"
        session = (await self.sandbox.run(f"git diff {root} --", 60)).output
        tests = base = None
        if self.test_command and changes and "tests" not in self.refused:
            limit = min(GATE_TIMEOUT_S, timeout_s)
            tests = await self.sandbox.run(self.test_command, limit)
            changed_tests = [c.path for c in changes if is_test_file(c.path) and not c.new]
            if tests.exit_code == 0 and changed_tests and "base_tests" not in self.refused:
                base = await self.sandbox.run(
                    base_tests_line(self.test_command, changed_tests), limit
                )
        return Gathered(changes, diff, session, tests, base)

    def review(self, seen: Gathered) -> str | None:
        """The refusal to answer `finish` with, or None to let it finish."""
        reason, text = _refusal(seen, self.test_command, self.refused)
        if reason is None:
            return None
        self.refused.add(reason)
        return text

    async def remove_scratch(self, keep: Collection[str]) -> list[str]:
        """Removes the scratch files the agent made and did not keep; their paths."""
        status = await self.sandbox.run("git -c core.quotepath=off status --porcelain -uall", 60)
        gone = [c.path for c in parse_status(status.output) if c.new and is_scratch(c, keep)]
        if gone:
            await self.sandbox.run("rm -f -- " + " ".join(shlex.quote(p) for p in gone), 60)
        return gone


def refusal_reason(seen: Gathered, test_command: str | None) -> str | None:
    """The first thing plainly wrong with a change, however often it was said before: what a
    draft (bot/agent/drafts.py) must not have at all."""
    return next(iter(_reasons(seen, test_command)), None)


def _reasons(seen: Gathered, test_command: str | None) -> list[str]:
    """Everything plainly wrong with the change, in the order the gate says it."""
    reasons = []
    if not seen.changes:
        reasons.append("unchanged")
    if findings(seen.session_diff):
        reasons.append("weakened")
    if test_command and seen.tests is not None and _failed(seen.tests):
        reasons.append("tests")
    if test_command and seen.base_tests is not None and _failed(seen.base_tests):
        reasons.append("base_tests")
    return reasons


def _failed(result: CommandResult) -> bool:
    return result.exit_code != 0 or result.timed_out


def _refusal(seen: Gathered, test_command: str | None, refused: set[str]) -> tuple[str | None, str]:
    reason = next((r for r in _reasons(seen, test_command) if r not in refused), None)
    if reason is None:
        return None, ""
    if reason == "unchanged":
        return reason, render("agent/finish_refused.md.j2", reason="unchanged")
    if reason == "weakened":
        return reason, render(
            "agent/finish_refused.md.j2",
            reason="weakened",
            findings=[f.detail for f in findings(seen.session_diff)],
            diff=cut(seen.diff, DIFF_CHARS),
        )
    result = seen.tests if reason == "tests" else seen.base_tests
    assert result is not None
    return reason, render(
        "agent/finish_refused.md.j2",
        reason=reason,
        command=test_command,
        output=command_observation(result, OUTPUT_CHARS),
        diff=cut(seen.diff, DIFF_CHARS),
    )


def parse_status(output: str) -> list[Change]:
    """`git status --porcelain` lines as changes; a rename counts as its new path."""
    changes = []
    for line in output.splitlines():
        if len(line) < 4 or line[2] != " ":
            continue
        path = line[3:].split(" -> ")[-1].strip().strip('"')
        changes.append(Change(line[:2], path))
    return changes


def is_scratch(change: Change, keep: Collection[str]) -> bool:
    """A new file named like a throwaway (repro.py, debug.txt, out.log) that was not kept."""
    kept = {path.removeprefix(f"{WORKSPACE}/").removeprefix("./") for path in keep}
    if not change.new or change.path in kept:
        return False
    pure = PurePosixPath(change.path)
    top = len(pure.parts) == 1
    return bool(LEFTOVER.search(pure.name)) or (top and bool(SCRATCH.match(pure.name)))


def scratch_note(gone: Sequence[str]) -> str:
    return "Removed scratch files: " + ", ".join(gone) if gone else ""
