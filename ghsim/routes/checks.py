"""Checks API: check suites and check runs of a commit; Apps create and update check runs."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ghsim.auth import Caller, CallerDep
from ghsim.ci.events import CIEvents
from ghsim.ci.planner import simple_commit
from ghsim.ci.records import create_check_run, latest_check_runs, refresh_suite, suite_for
from ghsim.errors import GitHubError
from ghsim.git_refs import read_commit
from ghsim.paging import paginate_counted
from ghsim.routes.commit_ref import branch_at, commit_sha
from ghsim.sim import Sim, SimDep
from ghsim.state import now_iso
from ghsim.store import Doc

router = APIRouter()
Status = Literal["queued", "in_progress", "completed", "waiting", "requested", "pending"]
Conclusion = Literal[
    "action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"
]


class Output(BaseModel):
    title: str | None = None
    summary: str | None = None
    text: str | None = None


class CheckRunUpdate(BaseModel):
    name: str | None = None
    details_url: str | None = None
    external_id: str | None = None
    status: Status | None = None
    started_at: str | None = None
    conclusion: Conclusion | None = None
    completed_at: str | None = None
    output: Output | None = None


class CheckRunCreate(CheckRunUpdate):
    name: str
    head_sha: str


def _filtered(runs: list[Doc], request: Request) -> list[Doc]:
    query = request.query_params
    if query.get("check_name"):
        runs = [r for r in runs if r["name"] == query["check_name"]]
    if query.get("status"):
        runs = [r for r in runs if r["status"] == query["status"]]
    return runs


def _check_runs(
    sim: Sim, suites: list[Doc], request: Request, response: Response
) -> dict[str, Any]:
    """The page of these suites' check runs (newest first) that the query asks for."""
    latest = request.query_params.get("filter", "latest") == "latest"
    runs = [
        run
        for suite in suites
        for run in (
            latest_check_runs(sim.store, suite["id"])
            if latest
            else sim.store.query("check_run", suite_id=suite["id"])
        )
    ]
    runs = sorted(_filtered(runs, request), key=lambda r: r["id"], reverse=True)
    return paginate_counted(request, response, "check_runs", runs, CIEvents(sim).shapes.check_run)


def _suites_at(sim: Sim, owner: str, repo: str, ref: str) -> list[Doc]:
    found = sim.repo_or_404(owner, repo)
    sha = commit_sha(sim, found, ref)
    return sim.store.query("check_suite", repo_id=found["id"], head_sha=sha)


@router.get("/repos/{owner}/{repo}/commits/{ref:path}/check-suites")
def list_suites_for_ref(
    owner: str, repo: str, ref: str, request: Request, response: Response, sim: SimDep
) -> dict[str, Any]:
    suites = _suites_at(sim, owner, repo, ref)
    shapes = CIEvents(sim).shapes
    return paginate_counted(request, response, "check_suites", suites, shapes.check_suite)


@router.get("/repos/{owner}/{repo}/commits/{ref:path}/check-runs")
def list_runs_for_ref(
    owner: str, repo: str, ref: str, request: Request, response: Response, sim: SimDep
) -> dict[str, Any]:
    return _check_runs(sim, _suites_at(sim, owner, repo, ref), request, response)


@router.get("/repos/{owner}/{repo}/check-suites/{suite_id}")
def get_suite(owner: str, repo: str, suite_id: int, sim: SimDep) -> dict[str, Any]:
    suite = sim.in_repo_or_404("check_suite", sim.repo_or_404(owner, repo), suite_id)
    return CIEvents(sim).shapes.check_suite(suite)


@router.get("/repos/{owner}/{repo}/check-suites/{suite_id}/check-runs")
def list_runs_in_suite(
    owner: str, repo: str, suite_id: int, request: Request, response: Response, sim: SimDep
) -> dict[str, Any]:
    suite = sim.in_repo_or_404("check_suite", sim.repo_or_404(owner, repo), suite_id)
    return _check_runs(sim, [suite], request, response)


@router.get("/repos/{owner}/{repo}/check-runs/{run_id}")
def get_check_run(owner: str, repo: str, run_id: int, sim: SimDep) -> dict[str, Any]:
    run = sim.in_repo_or_404("check_run", sim.repo_or_404(owner, repo), run_id)
    return CIEvents(sim).shapes.check_run(run)


def _require_app_installation(caller: Caller) -> None:
    if caller.kind == "anonymous":
        raise GitHubError(401, "Requires authentication")
    if caller.kind != "installation":
        raise GitHubError(403, "You must authenticate via a GitHub App.")


def _lifecycle(changes: dict[str, Any]) -> dict[str, Any]:
    """A conclusion completes the run, as on GitHub; completion stamps `completed_at`."""
    if changes.get("conclusion") is not None:
        changes["status"] = "completed"
    if changes.get("status") == "completed":
        changes.setdefault("completed_at", None)
        changes["completed_at"] = changes["completed_at"] or now_iso()
        if changes.get("conclusion") is None:
            raise GitHubError(
                422, "Invalid request.\n\nconclusion is required when status is completed."
            )
    return changes


def _announce(sim: Sim, run: Doc, created: bool, sender: Doc | None) -> None:
    events = CIEvents(sim)
    if created:
        events.check_run("created", run, sender)
    if run["status"] == "completed":
        events.check_run("completed", run, sender)
    suite, just_completed = refresh_suite(sim.store, run["suite_id"])
    if just_completed:
        events.check_suite("completed", suite, sender)


@router.post("/repos/{owner}/{repo}/check-runs", status_code=201)
def create_run(
    owner: str, repo: str, body: CheckRunCreate, caller: CallerDep, sim: SimDep
) -> dict[str, Any]:
    _require_app_installation(caller)
    found = sim.repo_or_404(owner, repo)
    sha = commit_sha(sim, found, body.head_sha)
    suite = suite_for(
        sim.store,
        found["id"],
        sim.identity.slug,
        sha,
        head_branch=branch_at(sim, found, sha),
        head_commit=simple_commit(read_commit(sim.git_dir(found), sha)),
    )
    fields = _lifecycle(body.model_dump(exclude_none=True, exclude={"name", "head_sha"}))
    if "output" in fields:
        fields["output"] = {"title": None, "summary": None, "text": None, **fields["output"]}
    if fields.get("status") in (None, "queued"):
        fields.setdefault("started_at", now_iso())
    run = create_check_run(sim.store, suite, body.name, **fields)
    _announce(sim, run, True, caller.user)
    return CIEvents(sim).shapes.check_run(run)


@router.patch("/repos/{owner}/{repo}/check-runs/{run_id}")
def update_run(
    owner: str, repo: str, run_id: int, body: CheckRunUpdate, caller: CallerDep, sim: SimDep
) -> dict[str, Any]:
    _require_app_installation(caller)
    run = sim.in_repo_or_404("check_run", sim.repo_or_404(owner, repo), run_id)
    if run["app"] != sim.identity.slug:
        raise GitHubError(
            403,
            f"Invalid app_id `{sim.identity.app_id}` - check run can only "
            "be modified by the GitHub App that created it.",
        )
    was_completed = run["status"] == "completed"
    changes = _lifecycle(body.model_dump(exclude_none=True))
    if "output" in changes:
        changes["output"] = {**run["output"], **changes["output"]}
    run = sim.store.update("check_run", run_id, changes)
    if not was_completed:
        _announce(sim, run, False, caller.user)
    return CIEvents(sim).shapes.check_run(run)
