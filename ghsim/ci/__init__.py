"""A GitHub Actions subset: workflows from the pushed commit, each job in a container."""

from __future__ import annotations

import asyncio
from typing import Any

from ghsim.ci.records import latest_check_runs
from ghsim.ci.service import CIService
from ghsim.sim import Sim
from ghsim.store import Doc

_services: dict[int, CIService] = {}


def service_for(sim: Sim) -> CIService:
    """The CI service of a running simulator (created by :func:`start`)."""
    return _services[id(sim)]


async def start(sim: Sim) -> None:
    service = CIService(sim)
    _services[id(sim)] = service
    service.start()


async def stop(sim: Sim) -> None:
    service = _services.pop(id(sim), None)
    if service is not None:
        await asyncio.to_thread(service.stop)


def checks_for(sim: Sim, repo: Doc, sha: str) -> list[dict[str, Any]]:
    """The check runs of a commit for the HTML view: name, status, conclusion, links."""
    api = f"{sim.config.api_url}/repos/{repo['full_name']}"
    out = []
    for suite in sim.store.query("check_suite", repo_id=repo["id"], head_sha=sha):
        for run in latest_check_runs(sim.store, suite["id"]):
            job_id = run.get("job_id")
            out.append(
                {
                    "name": run["name"],
                    "status": run["status"],
                    "conclusion": run["conclusion"],
                    "html_url": run["details_url"],
                    "log_url": None if job_id is None else f"{api}/actions/jobs/{job_id}/logs",
                }
            )
    return out
