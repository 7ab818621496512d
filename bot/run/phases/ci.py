"""CI as VERIFY: a verdict on the head CI is awaited on; ready when green, a fix within the
budget when red (rolled back to the best commit when a fix made it worse), one question when
workflow runs wait for a maintainer's approval, and the sandbox's test command in CI's place
when no CI reports in time, every job it ran was skipped, or its workflow files were refused.

Before a fix is spent, red checks are triaged (bot/run/ci_triage.py, phases/ci_rerun.py):
those red on the base branch's head too are pre-existing, and the failed jobs are re-run once
on the same commit, the run waiting on in AWAIT_CI; what passes then is flaky. Neither costs
an attempt. Nothing is marked ready while the change weakens the tests unconfirmed
(phases/test_guard.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from bot.agent.requirements import Requirement
from bot.core.inert import neutralise
from bot.core.templates import render
from bot.github.checkout import Checkout
from bot.github.ci_report import CiVerdict, failure_notes, verdict
from bot.run import outcomes
from bot.run.ci_triage import Triage, triage
from bot.run.kernel import Run
from bot.run.phases.ci_rerun import first_red, kept, rerun_started, triage_of
from bot.run.phases.pull_request import ReadyHost, await_ci, mark_ready
from bot.run.phases.test_guard import GuardHost, count_into, weakened
from bot.run.phases.work import WorkHost, iterate
from bot.run.report import pull_request_body
from bot.run.state import LocalCheck, Phase, RunState
from bot.sandbox.api import SandboxSpec


class CiHost(WorkHost, ReadyHost, GuardHost, Protocol):
    async def app_slug(self) -> str: ...

    async def check_runs(self, sha: str) -> list[Any]: ...

    async def commit_statuses(self, sha: str) -> list[Any]: ...

    async def failed_job_logs(self, sha: str) -> list[Any]: ...

    async def workflow_runs(self, sha: str) -> list[Any]: ...

    async def check_suites(self, sha: str) -> list[Any]: ...

    async def branch_sha(self, branch: str) -> str | None: ...

    async def changed_files(self, base: str, head: str) -> list[str]: ...

    async def rerun_failed_jobs(self, run_id: int) -> bool: ...

    async def mark_ready(self, number: int) -> None: ...

    async def update_pull(self, number: int, body: str) -> None: ...


@dataclass(frozen=True)
class CiEvidence:
    """What CI reported for one sha, and the verdict on it."""

    sha: str
    verdict: CiVerdict
    runs: list[Any]
    statuses: list[Any]
    workflows: list[Any] = field(default_factory=list)

    async def failure_notes(self, host: CiHost) -> list[str]:
        """The failures as the fix agent reads them; only the job logs are fetched here."""
        logs = await host.failed_job_logs(self.sha)
        # In a thread: trimming a failed job's 20 MB log holds the CPU for half a second.
        return await asyncio.to_thread(
            failure_notes, self.verdict, self.runs, logs, 8000, statuses=self.statuses
        )


async def evidence(host: CiHost, sha: str) -> CiEvidence:
    # Workflow runs and suites first: a job queued after them has a check run by the time
    # the check runs are read, so a finished list is never read before its late jobs.
    workflows = await host.workflow_runs(sha)
    suites = await host.check_suites(sha)
    runs = await host.check_runs(sha)
    statuses = await host.commit_statuses(sha)
    slug = await host.app_slug()
    found = verdict(runs, statuses, slug, workflows, suites)
    return CiEvidence(sha, found, runs, statuses, workflows)


async def on_ci(run: Run[CiHost], state: RunState, sha: str, force: bool = False) -> None:
    if state.phase is not Phase.AWAIT_CI or sha != state.ci_sha:
        run.record(kind="ignored", ci_sha=sha, why="not the head CI is awaited on")
        return
    key = f"ci:{sha}"
    if key in state.handled and not force:
        return
    found: CiEvidence = run.ci_prefetch.pop(sha, None) or await evidence(run.host, sha)
    result = found.verdict
    run.record(kind="ci", sha=sha, state=result.state, failing=result.failing)
    if result.state in ("pending", "none"):
        return
    if result.state == "approval":
        await ask_approval(run, state, sha, result.approval)
        return
    triaged: Triage | None = None
    entry = triage_of(state, sha)
    if entry is not None and entry.get("reruns"):
        if not rerun_started(entry, found.workflows):
            run.record(kind="ignored", ci_sha=sha, why="the re-run has not started yet")
            return
        triaged = triage(entry["failing"], entry.get("base_failing") or [], result.failing)
    elif result.state == "red":
        triaged = await first_red(run, state, sha, result.failing, found.runs, found.workflows)
        if triaged is None:
            return  # failed jobs re-run: their new verdict on this sha wakes the run
    # Judged for good only now: until then the CI index must not settle the sha, or the
    # re-run's verdict would be dropped unread.
    state.mark_handled(key)
    if triaged is not None:
        await after_triage(run, state, found, triaged)
        return
    if result.state == "quiet":
        await no_ci(run, state, sha, f"CI skipped every job on `{sha[:7]}`")
        return
    if result.state == "broken":
        await no_ci(run, state, sha, _broken(sha, result.broken))
        return
    await run.deps.metrics.ci_result(result.state, "ci")
    if not state.ci_history or state.ci_history[-1]["sha"] != sha:
        entry = {"sha": sha, "failing": len(result.failing), "names": result.failing}
        state.ci_history.append(entry)
    await outcomes.on_ci_verdict(run, state, sha, result.state == "green", result.failing)
    if result.state == "green":
        await ready(run, state, sha, f"CI passed on `{sha[:7]}`: " + ", ".join(result.passing))
        return
    await fix_ci(run, state, sha, await found.failure_notes(run.host), result.failing)


async def after_triage(
    run: Run[CiHost], state: RunState, found: CiEvidence, triaged: Triage
) -> None:
    """Says in the pull request what is not the run's to fix (once per sha), then goes on as
    green when nothing else failed, or spends a fix on the rest alone."""
    sha = found.sha
    base_sha = (triage_of(state, sha) or {}).get("base_sha")
    for name, said in triaged.verdicts.items():
        run.record(kind="ci_triage", sha=sha, check=name, verdict=said, base_sha=base_sha)
    result = "red" if triaged.ours else "flaky" if triaged.flaky else "pre_existing"
    await run.deps.metrics.ci_result(result, "ci")
    if not state.ci_history or state.ci_history[-1]["sha"] != sha:
        # Only the run's own failures: a fix is judged (and rolled back) by those.
        ours = {"sha": sha, "failing": len(triaged.ours), "names": kept(triaged.ours)}
        state.ci_history.append(ours)
    await outcomes.on_ci_verdict(run, state, sha, triaged.green, triaged.ours)
    if triaged.pre_existing or triaged.flaky:
        assert run.target is not None
        body = render(
            "comments/ci_triage.md.j2",
            sha=sha[:7],
            base=neutralise(state.base_branch or run.target.base_branch),
            base_sha=(base_sha or "")[:7],
            pre_existing=_listed(triaged.pre_existing),
            flaky=_listed(triaged.flaky),
            ours=_listed(triaged.ours),
        )
        await run.host.post_once(f"triage-{sha}", body, state.pr_number)
    if triaged.green:
        how = f"CI on `{sha[:7]}` shows no failure of this pull request's making"
        if triaged.pre_existing:
            how += f"; failing on the base branch too: {_listed(triaged.pre_existing)}"
        if triaged.flaky:
            how += f"; flaky, passed on a re-run: {_listed(triaged.flaky)}"
        if found.verdict.broken:
            # The refused workflows tested nothing: as when they are all CI has.
            await no_ci(run, state, sha, f"{how}; but {_broken(sha, found.verdict.broken)}")
            return
        await ready(run, state, sha, how)
        return
    own = replace(found, verdict=replace(found.verdict, failing=triaged.ours))
    await fix_ci(run, state, sha, await own.failure_notes(run.host), triaged.ours)


def _broken(sha: str, workflows: list[str]) -> str:
    # No fix of the code can mend a refused workflow file, and the App may not push one.
    return (
        f"CI could not start on `{sha[:7]}`: {_listed(workflows)} failed before any job ran, "
        "which is how GitHub reports a workflow file it refuses (a maintainer must fix it: "
        "this App may not change workflow files)"
    )


def _listed(names: list[str]) -> str:
    return ", ".join(f"`{neutralise(name)}`" for name in names[:8])


def _best(state: RunState) -> str | None:
    """The commit with the fewest failing checks so far; the earliest among equals."""
    if not state.ci_history:
        return None
    return str(min(state.ci_history, key=lambda h: int(h["failing"]))["sha"])


async def fix_ci(
    run: Run[CiHost],
    state: RunState,
    sha: str,
    notes: list[str],
    failing: list[str],
    answer: str | None = None,
) -> None:
    limit = run.config.max_ci_attempts + state.ci_extra
    state.best_sha = _best(state)
    node = Requirement(
        id=f"ci-{state.iterations + 1}",
        title=f"Make CI pass (attempt {state.ci_attempt + 1} of {limit})",
        description="The repository's CI failed on the branch; the failures are in the notes.",
        acceptance=[f"`{name}` passes" for name in failing[:8]] or ["CI passes"],
    )
    if state.ci_attempt >= limit:
        tried = ", ".join(f"`{h['sha'][:7]}` ({h['failing']} failing)" for h in state.ci_history)
        prefix = run.deps.command_prefix
        await run.ask(
            state,
            node,
            f"CI still fails after {state.ci_attempt} of {limit} attempts ({tried}).",
            "Failing: " + ", ".join(failing[:8]) + ". How should I go on? Answer with "
            f"`{prefix} continue <hint>` (one more attempt with your hint) or "
            f"`{prefix} retry` (a fresh budget).",
            "ci",
        )
        return
    history = state.ci_history
    restore_to = None
    if len(history) >= 2 and history[-1]["failing"] > history[-2]["failing"]:
        restore_to = state.best_sha if state.best_sha != sha else None
    notes = [*([f"A person answered: {answer}"] if answer else []), *notes]
    if restore_to:
        notes.insert(
            0,
            f"The last attempt made more checks fail; the branch was brought back "
            f"to the files of `{restore_to[:7]}`, the best so far.",
        )
    await run.save(state, Phase.EXECUTE)
    if not await iterate(run, state, node, notes, "ci", restore_to):
        await run.ask(
            state,
            node,
            "The fix attempt changed nothing, so CI would fail the same way.",
            "What is wrong with the failing checks: " + ", ".join(failing[:8]) + "?",
            "ci",
        )
        return
    await await_ci(run, state)


async def ready(run: Run[CiHost], state: RunState, sha: str, how: str) -> None:
    assert state.pr_number is not None and run.target is not None
    if await weakened(run, state, how):
        return  # a person decides first (phases/test_guard.py)
    await mark_ready(run, state)
    await run.resume(state)
    title = neutralise(run.target.issue.title)
    summary = f"Issue Pilot's work on #{state.issue}: {title}\n\n{how}."
    await run.host.update_pull(
        state.pr_number, pull_request_body(state, summary, run.config.max_tokens)
    )
    body = render(
        "comments/run_ready.md.j2",
        requested_by=state.requested_by,
        how=how,
        attempts=state.ci_attempt,
        tokens=state.prompt_tokens + state.completion_tokens,
    )
    await run.host.post_once(f"ready-{sha}", body, state.pr_number)
    await run.save(state, Phase.READY)


async def ask_approval(run: Run[CiHost], state: RunState, sha: str, workflows: list[str]) -> None:
    """Workflow runs wait for a maintainer: ask once per sha and wait on; the runs' own
    completion wakes the run again, and no CI attempt is spent meanwhile."""
    body = render(
        "comments/ci_approval.md.j2",
        requested_by=state.requested_by,
        sha=sha[:7],
        workflows=", ".join(f"`{neutralise(name)}`" for name in workflows),
    )
    await run.host.post_once(f"approval-{sha}", body, state.pr_number)


async def on_ci_timeout(run: Run[CiHost], state: RunState, sha: str) -> None:
    if state.phase is not Phase.AWAIT_CI or sha != state.ci_sha:
        return
    found = await evidence(run.host, sha)
    if found.verdict.state == "pending":
        return  # CI still runs; its own events carry on
    if found.verdict.state not in ("none", "quiet"):
        # CI finished but its news never came (lost webhooks): the reconciler sends only the
        # time-out once it is due, so the verdict is judged here or never.
        run.ci_prefetch[sha] = found
        await on_ci(run, state, sha)
        return
    minutes = round(run.deps.ci_timeout_s / 60, 1)
    await no_ci(run, state, sha, f"No CI reported within {minutes} min of the push")


async def no_ci(run: Run[CiHost], state: RunState, sha: str, why: str) -> None:
    """No CI tested `sha`: the sandbox runs the repository's test command in its place."""
    if not run.config.test:
        await ready(run, state, sha, f"{why}, and no `test` command is configured to run instead")
        return
    async with run.checkout(state) as checkout:
        local = await local_check(run, state, checkout)
    state.mark_handled(f"ci:{sha}")
    await run.deps.metrics.ci_result("green" if local.passed else "red", "sandbox")
    how = f"{why}; the sandbox ran `{local.command}` instead"
    if local.passed:
        await ready(run, state, sha, how + " and it passed")
        return
    state.ci_history.append({"sha": sha, "failing": 1, "names": [local.command]})
    await run.host.post_once(f"fallback-{sha}", how + ", and it failed.", state.pr_number)
    notes = [f"$ {local.command} (exit {local.exit_code})\n{local.output_tail}"]
    await fix_ci(run, state, sha, notes, [local.command])


async def local_check(run: Run[CiHost], state: RunState, checkout: Checkout) -> LocalCheck:
    assert run.config.test
    spec = SandboxSpec(run.run_id, run.config.image or run.deps.sandbox_image)
    async with run.sandbox_session(spec, checkout) as session:
        async with session.phase("check") as sandbox:
            result = await sandbox.run(run.config.test)
    state.check = LocalCheck.of(run.config.test, result)
    count_into(state, "head", result.output, checkout.head_sha)
    return state.check
