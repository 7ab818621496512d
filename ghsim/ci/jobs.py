"""A job instance's records: the workflow job and its check run, queued or already skipped."""

from __future__ import annotations

from typing import Any

from ghsim.ci.events import CIEvents
from ghsim.ci.records import create_check_run
from ghsim.ci.workflow import Job
from ghsim.sim import Sim
from ghsim.state import now_iso
from ghsim.store import Doc


def _record(
    sim: Sim,
    run: Doc,
    suite: Doc,
    job: Job,
    instance: int,
    name: str,
    fields: dict[str, Any],
) -> tuple[Doc, Doc]:
    check_run = create_check_run(sim.store, suite, name, **fields.get("check_run", {}))
    # On GitHub a job's id is its check run's id (job logs are fetched by check run id).
    record = sim.store.insert(
        "workflow_job",
        {
            "repo_id": run["repo_id"],
            "run_id": run["id"],
            "run_attempt": run["run_attempt"],
            "check_run_id": check_run["id"],
            "job_key": job.key,
            "instance": instance,
            "name": name,
            "status": "queued",
            "conclusion": None,
            "created_at": now_iso(),
            "started_at": None,
            "completed_at": None,
            "steps": [],
            "head_sha": run["head_sha"],
            "head_branch": run["head_branch"],
            "workflow_name": run["name"],
            "labels": list(job.runs_on),
            **fields.get("job", {}),
        },
        doc_id=check_run["id"],
    )
    web = f"{sim.config.base_url}/{sim.repo(run['repo_id'])['full_name']}"
    check_run = sim.store.update(
        "check_run",
        check_run["id"],
        {
            "details_url": f"{web}/actions/runs/{run['id']}/job/{record['id']}",
            "job_id": record["id"],
        },
    )
    return record, check_run


def queue_job(
    sim: Sim,
    events: CIEvents,
    run: Doc,
    suite: Doc,
    job: Job,
    instance: int = 0,
    name: str | None = None,
    matrix: dict[str, Any] | None = None,
    needs: dict[str, Any] | None = None,
) -> Doc:
    """A queued job of a run attempt, with its check run, both announced."""
    extra = {"matrix": matrix or {}, "needs": needs or {}}
    record, check_run = _record(sim, run, suite, job, instance, name or job.name, {"job": extra})
    events.check_run("created", check_run)
    events.workflow_job("queued", record)
    return record


def skip_job(sim: Sim, events: CIEvents, run: Doc, suite: Doc, job: Job, name: str) -> Doc:
    """A job whose `if:` (or a failed need) kept it from running: completed, `skipped`."""
    now = now_iso()
    done = {"status": "completed", "conclusion": "skipped", "completed_at": now}
    record, check_run = _record(
        sim,
        run,
        suite,
        job,
        0,
        name,
        {
            "job": {**done, "started_at": now, "matrix": {}, "needs": {}},
            "check_run": {
                **done,
                "output": {
                    "title": f"{name}: skipped",
                    "summary": "This job was skipped.",
                    "text": None,
                },
            },
        },
    )
    events.check_run("created", check_run)
    events.workflow_job("completed", record)
    events.check_run("completed", check_run)
    return record
