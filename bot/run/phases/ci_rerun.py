"""A commit's first red verdict, before a fix is spent on it: its failing checks compared with
the base branch's head, and its failed Actions jobs re-run once on the same commit.

While the re-run runs, the run rests in AWAIT_CI with `state.ci_triage` naming the sha, what
failed first, what the base branch said and the workflow runs re-run (run id → the attempt
re-run). Its `ci:<sha>` is not yet in `handled`, so the CI index does not settle the sha and
the re-run's own completion wakes the run; `on_ci` (phases/ci.py) then triages the new
verdict against the first (bot/run/ci_triage.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.core.comment_json import fit_text
from bot.github.api import FAILED_CONCLUSIONS
from bot.github.ci_report import verdict
from bot.run.ci_triage import Triage, implicated, should_rerun, triage
from bot.run.kernel import KernelHost, Run
from bot.run.state import Phase, RunState

# The check runs GitHub Actions makes for its jobs: the ones `rerun-failed-jobs` runs again.
ACTIONS_APP = "github-actions"
# Check names kept in the state per list, each cut to a line: the block stays bounded.
KEPT_NAMES = 20
NAME_CHARS = 300


class RerunHost(KernelHost, Protocol):
    async def app_slug(self) -> str: ...

    async def check_runs(self, sha: str) -> list[Any]: ...

    async def commit_statuses(self, sha: str) -> list[Any]: ...

    async def workflow_runs(self, sha: str) -> list[Any]: ...

    async def branch_sha(self, branch: str) -> str | None: ...

    async def changed_files(self, base: str, head: str) -> list[str]: ...

    async def failed_job_logs(self, sha: str) -> list[Any]: ...

    async def rerun_failed_jobs(self, run_id: int) -> bool: ...


def kept(names: list[str]) -> list[str]:
    return [fit_text(name, NAME_CHARS) for name in names[:KEPT_NAMES]]


def triage_of(state: RunState, sha: str) -> dict[str, Any] | None:
    """What the run noted of `sha`'s first red verdict, if it was the one judged."""
    entry = state.ci_triage
    return entry if entry is not None and entry.get("sha") == sha else None


def rerun_started(entry: dict[str, Any], workflows: list[Any]) -> bool:
    """Whether every re-run workflow run is on a later attempt than the one re-run: a read
    from before GitHub queued the new attempt shows the first attempt's verdict again. A run
    no longer listed cannot be waited for."""
    attempts = {int(w.id): int(getattr(w, "run_attempt", 1)) for w in workflows}
    return all(
        attempts.get(int(run_id), int(attempt) + 1) > int(attempt)
        for run_id, attempt in dict(entry.get("reruns") or {}).items()
    )


async def base_failing(
    run: Run[RerunHost], state: RunState, sha: str
) -> tuple[str | None, list[str]]:
    """The base branch's head and the checks red on it, named as `verdict` names ours."""
    assert run.target is not None
    base_sha = await run.host.branch_sha(state.base_branch or run.target.base_branch)
    if base_sha is None or base_sha == sha:
        return base_sha, []
    workflows = await run.host.workflow_runs(base_sha)
    runs = await run.host.check_runs(base_sha)
    statuses = await run.host.commit_statuses(base_sha)
    slug = await run.host.app_slug()
    return base_sha, verdict(runs, statuses, slug, workflows).failing


async def first_red(
    run: Run[RerunHost],
    state: RunState,
    sha: str,
    failing: list[str],
    runs: list[Any],
    workflows: list[Any],
) -> Triage | None:
    """The triage of a sha's first red verdict; None when its failed jobs were re-run and the
    run waits (saved in AWAIT_CI) for their new verdict. A sha judged before (a forced look
    again) is never re-run twice."""
    entry = triage_of(state, sha)
    if entry is not None:
        return triage(failing, entry.get("base_failing") or [])
    base_sha, on_base = await base_failing(run, state, sha)
    red_on_base = [name for name in failing if name in on_base]
    if red_on_base and base_sha is not None:
        changed = await run.host.changed_files(base_sha, sha)
        logs = {log.name: log.log for log in await run.host.failed_job_logs(sha)}
        red_on_base = [name for name in red_on_base if not implicated(logs.get(name, ""), changed)]
    entry = {
        "sha": sha,
        "base_sha": base_sha,
        "failing": kept(failing),
        "base_failing": kept(red_on_base),
        "reruns": {},
    }
    state.ci_triage = entry
    failed = [
        w for w in workflows if w.status == "completed" and w.conclusion in FAILED_CONCLUSIONS
    ]
    # What a re-run runs again: the Actions jobs, and a workflow run that failed without any.
    rerunnable = {r.name for r in runs if r.app_slug == ACTIONS_APP}
    rerunnable |= {f"workflow {w.name}" for w in failed}
    if not failed or not should_rerun(failing, red_on_base, rerunnable):
        return triage(failing, red_on_base)
    reruns: dict[str, int] = {}
    for workflow in failed:
        if await run.host.rerun_failed_jobs(int(workflow.id)):
            reruns[str(workflow.id)] = int(getattr(workflow, "run_attempt", 1))
    if not reruns:  # GitHub refused every one (an App without actions: write, say)
        return triage(failing, red_on_base)
    entry["reruns"] = reruns
    run.record(kind="ci_rerun", sha=sha, runs=sorted(reruns), failing=failing)
    await run.save(
        state,
        Phase.AWAIT_CI,
        f"Re-running the failed jobs of `{sha[:7]}` once, to tell a flaky failure from ours.",
    )
    return None
