"""Which jobs of a workflow run can start, from what its jobs so far concluded (pure).

"jobs.<job_id>.needs" (GitHub's workflow syntax): a job waits until every job it needs has
completed; if one of them fails or is skipped, the job is skipped unless its `if:` uses a
status function that lets it go on. A skip therefore travels down the chain of needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ghsim.ci.conditions import job_status
from ghsim.ci.expressions import Status
from ghsim.ci.workflow import Job

_FAILED = ("failure", "timed_out", "startup_failure")


def job_result(conclusions: Iterable[str | None]) -> str:
    """`needs.<id>.result` of a job from its instances' conclusions."""
    found = set(conclusions)
    if found & set(_FAILED):
        return "failure"
    if "cancelled" in found:
        return "cancelled"
    if found and found <= {"skipped"}:
        return "skipped"
    return "success"


@dataclass(frozen=True)
class Ready:
    """A job whose needs have all completed: evaluate its `if:` with this status and needs."""

    job: Job
    needs: dict[str, dict[str, Any]]
    status: Status


def ready_jobs(jobs: Iterable[Job], results: Mapping[str, str | None]) -> list[Ready]:
    """Jobs not created yet whose needs have all completed.

    `results` holds each created job's result, or None while an instance of it runs.
    """
    by_key = {job.key: job for job in jobs}

    def failed_above(key: str) -> bool:
        return any(
            results.get(need) == "failure" or failed_above(need) for need in by_key[key].needs
        )

    out = []
    for job in by_key.values():
        if job.key in results:
            continue
        if any(results.get(need) is None for need in job.needs):
            continue
        needs: dict[str, dict[str, Any]] = {
            need: {"result": results[need], "outputs": {}} for need in job.needs
        }
        status = job_status((str(results[n]) for n in job.needs), failed_above(job.key))
        out.append(Ready(job, needs, status))
    return out
