"""Tests cannot be gamed: before a pull request is marked ready, the change is judged by what
it does to the repository's tests (bot/agent/test_weakening.py): its diff against the base
branch; the tests the repository's test command ran before the agent's first change and on the
head; the tests each CI job ran on the head and where the branch left the base. A change that
removes, skips or weakens tests is not marked ready on its own: the run says what happened and
asks a person, whose `continue` marks it ready as it is, and whose `continue <hint>` has the
agent put the tests back (bot/run/phases/commands.py)."""

from __future__ import annotations

import asyncio
import re
from time import perf_counter
from typing import Any, Protocol

from bot.agent.requirements import Requirement
from bot.agent.test_weakening import (
    Finding,
    TestCount,
    count_findings,
    count_tests,
    findings,
    is_test_file,
)
from bot.agent.unified_diff import FileChange, file_changes
from bot.core.templates import render
from bot.core.text import cut
from bot.github.checkout import Checkout
from bot.run import outcomes
from bot.run.kernel import KernelHost, Run
from bot.run.state import RunState
from bot.sandbox.api import CommandResult, Sandbox

# What the question is filed under (`parked["node"]`): a bare `continue` to it marks ready.
GUARD_NODE = Requirement(
    "tests",
    "Keep the repository's tests",
    "The change removes, skips or weakens tests the base branch has; a person decides.",
)
KEPT = 20  # findings kept in the state (and confirmed by a `continue`); the rest wait
SHOWN = 12  # findings listed in the comment
# Counting the base's tests must not eat the agent's time budget on a slow suite.
BASE_TESTS_TIMEOUT_S = 300.0
RESTORE_DIFF_CHARS = 8000


class GuardHost(KernelHost, Protocol):
    async def job_logs(self, sha: str) -> list[Any]: ...


def count_into(state: RunState, which: str, output: str, sha: str | None) -> None:
    """The tests `output` says ran, as `state.test_counts[which]` (`base` or `head`), with the
    commit they ran on; a count the output does not give is kept as unknown."""
    count = count_tests(output)
    state.test_counts[which] = {"sha": sha, **(count.to_dict() if count else {})}


async def count_base(
    run: Run[KernelHost], state: RunState, checkout: Checkout, sandbox: Sandbox
) -> CommandResult | None:
    """The base branch's tests, counted once per run in the work's sandbox before the agent's
    first change (the sandbox then holds the base's files, and nothing else would run them).
    The result, when they ran: what the agent is shown of the bug as the tests see it."""
    test = run.config.test
    if not test or "base" in state.test_counts or checkout.head_sha != checkout.base_tip:
        return None
    since = perf_counter()
    result = await sandbox.run(test, timeout_s=BASE_TESTS_TIMEOUT_S)
    run.timing("base_tests", since)
    await sandbox.take_patch()  # what the test run leaves in the workspace is not the work
    count_into(state, "base", "" if result.timed_out else result.output, checkout.head_sha)
    return result


async def weakened(run: Run[GuardHost], state: RunState, how: str) -> bool:
    """True when the branch's head weakens the tests in a way no person has confirmed: the
    run has then asked, and is parked. `how` is why it would have been ready."""
    async with run.checkout(state) as checkout:
        head = checkout.head_sha
        diff = await checkout.diff_against_base()
        base = await checkout.merge_base()
    before = TestCount.from_dict(state.test_counts.get("base"))
    counted = state.test_counts.get("head") or {}
    after = TestCount.from_dict(counted) if counted.get("sha") == head else None
    # Off the loop: a large change's diff takes a while to read.
    found = await asyncio.to_thread(findings, diff, before, after)
    found += await _ci_findings(run, head, base)
    guard = state.test_guard or {}
    confirmed = set(guard.get("confirmed") or [])
    waiting = [f for f in found if f.key not in confirmed]
    flagged_before = guard.get("sha") == head and bool(guard.get("findings"))
    run.record(
        kind="test_guard",
        sha=head,
        findings=[f.to_dict() for f in found],
        waiting=len(waiting),
        before=before.to_dict() if before else None,
        after=after.to_dict() if after else None,
    )
    state.test_guard = {**guard, "sha": head, "findings": [f.to_dict() for f in waiting[:KEPT]]}
    if not waiting:
        return False
    if not flagged_before:
        await outcomes.record(
            run, outcomes.weakened_tests_reward(head, [f.detail for f in waiting[:KEPT]])
        )
    state.test_guard["how"] = how
    prefix = run.deps.command_prefix
    reason = render(
        "comments/tests_weakened.md.j2",
        sha=head[:7],
        findings=[f.detail for f in waiting[:SHOWN]],
        more=len(waiting) - SHOWN,
        before=str(before) if before else "",
        after=str(after) if after else "",
        prefix=prefix,
    )
    named = "; ".join(f.detail for f in waiting[:3]) + ("; …" if len(waiting) > 3 else "")
    question = (
        f"The change weakens the tests ({named}). Is that meant? `{prefix} continue` marks the "
        f"pull request ready as it is; `{prefix} continue <hint>` has me put the tests back."
    )
    await run.ask(state, GUARD_NODE, reason, question, "tests")
    return True


def confirm(state: RunState, login: str) -> str:
    """A person's `continue` to the guard's question: what it found stops counting, for this
    change and any later head that does the same. Returns why the run is now ready."""
    guard = state.test_guard or {}
    keys = [str(f.get("key")) for f in guard.get("findings") or [] if isinstance(f, dict)]
    confirmed = list(dict.fromkeys([*(guard.get("confirmed") or []), *keys]))
    state.test_guard = {**guard, "findings": [], "confirmed": confirmed, "by": login}
    how = str(guard.get("how") or "The checks passed")
    return f"{how}; @{login} confirmed the changes to the tests"


def restore_node(state: RunState) -> Requirement:
    """The agent's work when a person asks for the tests back."""
    state.iterations += 1
    return Requirement(
        id=f"tests-{state.iterations}",
        title="Put back the tests the change removed or weakened",
        description=(
            "The change removes, skips or weakens tests the base branch has (the notes say "
            "which, with the diff of the test files). Restore those tests as the base branch "
            "has them, and make the code pass them: the tests are the specification."
        ),
        acceptance=["Every test the base branch has runs again, and passes"],
    )


async def restore_notes(run: Run[KernelHost], state: RunState) -> list[str]:
    """What the agent needs to put the tests back: what was found, and the test files' part
    of the diff against the base branch (the sandbox holds the head alone, no history)."""
    guard = state.test_guard or {}
    found = [f for f in guard.get("findings") or [] if isinstance(f, dict)]
    notes = [f"What the change does to the tests: {f.get('detail')}" for f in found[:SHOWN]]
    async with run.checkout(state) as checkout:
        diff = await checkout.diff_against_base()
    sections = re.split(r"(?m)^(?=diff --git )", diff)
    tests = [s for s in sections if any(_touches_tests(c) for c in file_changes(s))]
    if tests:
        text = cut("\n".join(tests), RESTORE_DIFF_CHARS)
        notes.append(f"The test files' diff against the base branch (- is the base's):\n{text}")
    return notes


def _touches_tests(change: FileChange) -> bool:
    return is_test_file(change.old or "") or is_test_file(change.new or "")


async def _ci_findings(run: Run[GuardHost], head: str, base: str | None) -> list[Finding]:
    """Each CI job's tests on the head against the same job's where the branch left the
    base: fewer, or none at all, is a finding."""
    head_logs = await run.host.job_logs(head)
    if not head_logs:
        return []
    base_logs = await run.host.job_logs(base) if base else []
    after = await asyncio.to_thread(_job_counts, head_logs)
    before = await asyncio.to_thread(_job_counts, base_logs)
    found: list[Finding] = []
    for name, count in sorted(after.items()):
        found += count_findings(before.get(name), count, f"CI job {name}")
    return found


def _job_counts(logs: list[Any]) -> dict[str, TestCount]:
    counts = {}
    for log in logs:
        count = count_tests(str(log.log))
        if count is not None:
            counts[str(log.name)] = count
    return counts
