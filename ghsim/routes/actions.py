"""Actions API: workflow runs and their jobs, job logs (a redirect, as GitHub), re-runs."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse
from pydantic import BaseModel, StrictBool

from ghsim.auth import ActorDep, require_role
from ghsim.ci import service_for
from ghsim.ci.events import CIEvents
from ghsim.ci.logs import log_path
from ghsim.ci.records import latest_jobs
from ghsim.errors import GitHubError
from ghsim.paging import paginate_counted
from ghsim.sim import Sim, SimDep

router = APIRouter()


class ApprovalBody(BaseModel):
    required: StrictBool


# Plain-text log URLs are signed and short-lived, like the storage URLs GitHub redirects to.
LOG_URL_SECONDS = 60
_CONCLUSIONS = {
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
    "stale",
    "startup_failure",
}


def _log_signature(sim: Sim, job_id: int, expires: int) -> str:
    key = sim.identity.webhook_secret.encode()
    return hmac.new(key, f"job-log:{job_id}:{expires}".encode(), hashlib.sha256).hexdigest()


@router.get("/repos/{owner}/{repo}/actions/runs")
def list_runs(
    owner: str, repo: str, request: Request, response: Response, sim: SimDep
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    query = request.query_params
    filters: dict[str, Any] = {key: query[key] for key in ("event", "head_sha") if query.get(key)}
    if query.get("branch"):
        filters["head_branch"] = query["branch"]
    runs = sim.store.query("workflow_run", order="-id", repo_id=found["id"], **filters)
    wanted = query.get("status")
    if wanted:
        field = "conclusion" if wanted in _CONCLUSIONS else "status"
        runs = [r for r in runs if r[field] == wanted]
    if query.get("actor"):
        login = query["actor"].lower()
        runs = [r for r in runs if sim.user(r["actor_id"])["login"].lower() == login]
    shapes = CIEvents(sim).runs
    return paginate_counted(request, response, "workflow_runs", runs, shapes.workflow_run)


@router.get("/repos/{owner}/{repo}/actions/runs/{run_id}")
def get_run(owner: str, repo: str, run_id: int, sim: SimDep) -> dict[str, Any]:
    run = sim.in_repo_or_404("workflow_run", sim.repo_or_404(owner, repo), run_id)
    return CIEvents(sim).runs.workflow_run(run)


@router.get("/repos/{owner}/{repo}/actions/runs/{run_id}/jobs")
def list_jobs(
    owner: str, repo: str, run_id: int, request: Request, response: Response, sim: SimDep
) -> dict[str, Any]:
    run = sim.in_repo_or_404("workflow_run", sim.repo_or_404(owner, repo), run_id)
    if request.query_params.get("filter", "latest") == "all":
        jobs = sim.store.query("workflow_job", run_id=run["id"])
    else:
        jobs = latest_jobs(sim.store, run["id"])
    return paginate_counted(request, response, "jobs", jobs, CIEvents(sim).runs.job)


@router.get("/repos/{owner}/{repo}/actions/jobs/{job_id}")
def get_job(owner: str, repo: str, job_id: int, sim: SimDep) -> dict[str, Any]:
    job = sim.in_repo_or_404("workflow_job", sim.repo_or_404(owner, repo), job_id)
    return CIEvents(sim).runs.job(job)


@router.get("/repos/{owner}/{repo}/actions/jobs/{job_id}/logs")
def job_logs(owner: str, repo: str, job_id: int, sim: SimDep) -> Response:
    found = sim.repo_or_404(owner, repo)
    job = sim.in_repo_or_404("workflow_job", found, job_id)
    expires = int(time.time()) + LOG_URL_SECONDS
    signature = _log_signature(sim, job["id"], expires)
    target = (
        f"{sim.config.api_url}/_ghsim/job-logs/{job['id']}.txt?expires={expires}&sig={signature}"
    )
    return RedirectResponse(target, status_code=302)


@router.post("/repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs", status_code=201)
def rerun_failed_jobs(
    owner: str, repo: str, run_id: int, caller: ActorDep, sim: SimDep
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    require_role(sim, found, caller, "write")
    run = sim.in_repo_or_404("workflow_run", found, run_id)
    if run["status"] != "completed":
        raise GitHubError(403, "This workflow run is not completed yet.")
    if all(
        j["conclusion"] in ("success", "skipped", "neutral")
        for j in latest_jobs(sim.store, run["id"])
    ):
        raise GitHubError(403, "This workflow run has no failed jobs to re-run.")
    assert caller.user is not None
    service_for(sim).rerun_failed(run, caller.user)
    return {}


@router.post("/repos/{owner}/{repo}/actions/runs/{run_id}/approve", status_code=201)
def approve_run(
    owner: str, repo: str, run_id: int, caller: ActorDep, sim: SimDep
) -> dict[str, Any]:
    """Approve a workflow run held for approval ("Approve a workflow run for a fork pull
    request"): a writer's call, 201 with an empty object, as GitHub answers."""
    found = sim.repo_or_404(owner, repo)
    require_role(sim, found, caller, "write")
    run = sim.in_repo_or_404("workflow_run", found, run_id)
    if run["conclusion"] != "action_required":
        raise GitHubError(403, "This run is not from a fork pull request")
    service_for(sim).approve(run)
    return {}


@router.put("/_ghsim/repos/{owner}/{repo}/actions/approval", status_code=204)
def set_approval(
    owner: str, repo: str, body: Annotated[ApprovalBody, Body()], caller: ActorDep, sim: SimDep
) -> Response:
    """ghsim's own switch (no GitHub endpoint): `{"required": true}` holds this repository's
    new workflow runs for approval, as GitHub holds an outside contributor's fork runs."""
    found = sim.repo_or_404(owner, repo)
    require_role(sim, found, caller, "admin")
    sim.store.update("repo", found["id"], {"actions_approval_required": body.required})
    return Response(status_code=204)


@router.get("/_ghsim/job-logs/{job_id}.txt", include_in_schema=False)
def job_log_text(job_id: int, expires: int, sig: str, sim: SimDep) -> Response:
    expected = _log_signature(sim, job_id, expires)
    if expires < time.time() or not hmac.compare_digest(expected, sig):
        return PlainTextResponse("This URL has expired or is not valid.\n", 403)
    path = log_path(sim.config.data_dir, job_id)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return PlainTextResponse(text)
