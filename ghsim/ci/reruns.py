"""What "Re-run failed jobs" re-runs: the failed jobs, and the jobs that depend on them."""

from __future__ import annotations

from ghsim.ci.records import active_jobs
from ghsim.ci.workflow import Workflow
from ghsim.store import Doc, Store

PASSED = ("success", "skipped", "neutral")


def jobs_to_rerun(
    store: Store, run_id: int, workflow: Workflow | None
) -> tuple[list[Doc], list[Doc]]:
    """(jobs to queue again, jobs to set aside and decide again when their needs complete).

    GitHub: "Re-running failed jobs in a workflow ... will re-run all failed jobs and any
    dependent jobs", whatever those dependents concluded the first time.
    """
    jobs = active_jobs(store, run_id)
    failed = [j for j in jobs if j["conclusion"] not in PASSED]
    if workflow is None:
        return failed, []
    needs = {job.key: set(job.needs) for job in workflow.jobs}
    failed_keys = {j["job_key"] for j in failed}
    # Keys downstream of a failed job: decided again once what they need has re-run.
    downstream: set[str] = set()
    while True:
        more = {k for k, n in needs.items() if n & (failed_keys | downstream)} - downstream
        if not more:
            break
        downstream |= more
    again = [j for j in failed if j["job_key"] not in downstream]
    return again, [j for j in jobs if j["job_key"] in downstream]
