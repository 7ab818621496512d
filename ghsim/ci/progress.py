"""A workflow run moving on: jobs created as their needs complete, the run completed last."""

from __future__ import annotations

import logging

from ghsim.ci.contexts import github_context, job_scope
from ghsim.ci.events import CIEvents
from ghsim.ci.expressions import ExpressionError, condition_holds
from ghsim.ci.jobs import queue_job, skip_job
from ghsim.ci.matrix import instance_name
from ghsim.ci.records import active_jobs, refresh_suite, run_conclusion
from ghsim.ci.schedule import job_result, ready_jobs
from ghsim.ci.workflow import Workflow
from ghsim.sim import Sim
from ghsim.state import now_iso
from ghsim.store import Doc

log = logging.getLogger("ghsim.ci")


def results_of(jobs: list[Doc]) -> dict[str, str | None]:
    """Each created job's `needs.<id>.result`, None while an instance of it is unfinished."""
    by_key: dict[str, list[Doc]] = {}
    for job in jobs:
        by_key.setdefault(job["job_key"], []).append(job)
    return {
        key: None
        if any(j["status"] != "completed" for j in instances)
        else job_result(j["conclusion"] for j in instances)
        for key, instances in by_key.items()
    }


def advance(sim: Sim, events: CIEvents, run: Doc, suite: Doc, workflow: Workflow) -> list[int]:
    """Create every job whose needs have completed; returns the ids of those to run.

    GitHub creates a job (and its check run) only when it is queued, so a job waiting on
    its needs has no check run yet.
    """
    queued: list[int] = []
    while True:
        ready = ready_jobs(workflow.jobs, results_of(active_jobs(sim.store, run["id"])))
        if not ready:
            return queued
        for item in ready:
            github = github_context(sim, run, item.job.key)
            scope = job_scope(github, {}, item.needs, {}, item.status)
            try:
                runs = condition_holds(item.job.condition, scope)
            except ExpressionError as exc:
                log.warning("%s: jobs.%s.if: %s", workflow.path, item.job.key, exc)
                runs = False
            if not runs:
                skip_job(sim, events, run, suite, item.job, instance_name(item.job.name, {}, scope))
                continue
            for index, values in enumerate(item.job.matrix):
                named = job_scope(github, values, item.needs, {})
                name = instance_name(item.job.name, values, named)
                record = queue_job(
                    sim, events, run, suite, item.job, index, name, values, item.needs
                )
                queued.append(record["id"])


def complete_if_done(sim: Sim, events: CIEvents, run: Doc, workflow: Workflow | None) -> Doc:
    """Complete the run once every job of it exists and has completed; then its suite."""
    jobs = active_jobs(sim.store, run["id"])
    created = {j["job_key"] for j in jobs}
    waiting = workflow is not None and any(job.key not in created for job in workflow.jobs)
    finished = None if waiting else run_conclusion(jobs)
    if finished is not None and run["status"] != "completed":
        run = sim.store.update(
            "workflow_run",
            run["id"],
            {"status": "completed", "conclusion": finished, "updated_at": now_iso()},
        )
        events.workflow_run("completed", run)
    hold = run["status"] != "completed"
    suite, just_completed = refresh_suite(sim.store, run["suite_id"], hold=hold)
    if just_completed:
        events.check_suite("completed", suite)
    return run
