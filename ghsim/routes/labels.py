"""Labels of a repository and of an issue (add, set, remove, list)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import AfterValidator, BaseModel

from ghsim import issue_events
from ghsim.auth import ActorDep, Caller, CallerDep, require_role
from ghsim.errors import GitHubError, label_names, not_found, validation_failed
from ghsim.paging import paginate
from ghsim.serialize import Serializer
from ghsim.serialize_issues import IssueSerializer
from ghsim.sim import Sim, SimDep
from ghsim.store import Doc

router = APIRouter()
LabelsBody = list[str] | dict[str, Any]


_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


def _color(value: str) -> str:
    color = value.removeprefix("#")
    if not _COLOR.match(color):
        raise validation_failed("Label", "color", "invalid")
    return color.lower()


class LabelCreate(BaseModel):
    name: str
    color: Annotated[str, AfterValidator(_color)] = "ededed"
    description: str | None = None


def _names(body: LabelsBody) -> list[str]:
    """GitHub accepts ``["a"]``, ``{"labels": ["a"]}`` and ``{"labels": [{"name": "a"}]}``."""
    return label_names(body.get("labels", []) if isinstance(body, dict) else body)


def _issue_labels(sim: Sim, issue: Doc) -> list[dict[str, Any]]:
    return IssueSerializer(sim).labels_of(issue["repo_id"], issue.get("labels", []), rest=True)


def _triage_target(sim: Sim, owner: str, repo: str, number: int, caller: Caller) -> Doc:
    found = sim.repo_or_404(owner, repo)
    require_role(sim, found, caller, "triage")
    return sim.issue_or_404(found, number)


@router.get("/repos/{owner}/{repo}/labels")
def list_repo_labels(
    owner: str,
    repo: str,
    request: Request,
    response: Response,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    labels = sorted(sim.store.query("label", repo_id=found["id"]), key=lambda x: x["name_lower"])
    return [Serializer(sim).label(x, rest=True) for x in paginate(request, response, labels)]


@router.get("/repos/{owner}/{repo}/labels/{name}")
def get_repo_label(
    owner: str,
    repo: str,
    name: str,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    label = sim.find_label(found["id"], name)
    if label is None:
        raise not_found()
    return Serializer(sim).label(label, rest=True)


@router.post("/repos/{owner}/{repo}/labels", status_code=201)
def create_repo_label(
    owner: str,
    repo: str,
    body: LabelCreate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    require_role(sim, found, caller, "write")
    if sim.find_label(found["id"], body.name) is not None:
        raise validation_failed("Label", "name", "already_exists")
    label = sim.store.insert(
        "label",
        {
            "repo_id": found["id"],
            "name": body.name,
            "name_lower": body.name.lower(),
            "color": body.color,
            "description": body.description,
            "default": False,
        },
    )
    ser = Serializer(sim)
    sim.webhooks.emit(
        "label", {"action": "created", "label": ser.label(label)}, found["full_name"], caller.user
    )
    return ser.label(label, rest=True)


@router.get("/repos/{owner}/{repo}/issues/{number}/labels")
def list_issue_labels(
    owner: str,
    repo: str,
    number: int,
    request: Request,
    response: Response,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    issue = sim.issue_or_404(sim.repo_or_404(owner, repo), number)
    return paginate(request, response, _issue_labels(sim, issue))


@router.post("/repos/{owner}/{repo}/issues/{number}/labels")
def add_issue_labels(
    *,
    owner: str,
    repo: str,
    number: int,
    body: Annotated[LabelsBody, Body()],
    sim: SimDep,
    caller: ActorDep,
) -> list[dict[str, Any]]:
    issue = _triage_target(sim, owner, repo, number, caller)
    assert caller.user is not None
    names = [*issue.get("labels", []), *_names(body)]
    issue = issue_events.set_labels(sim, issue, names, caller.user)
    return _issue_labels(sim, issue)


@router.put("/repos/{owner}/{repo}/issues/{number}/labels")
def set_issue_labels(
    *,
    owner: str,
    repo: str,
    number: int,
    body: Annotated[LabelsBody, Body()],
    sim: SimDep,
    caller: ActorDep,
) -> list[dict[str, Any]]:
    issue = _triage_target(sim, owner, repo, number, caller)
    assert caller.user is not None
    issue = issue_events.set_labels(sim, issue, _names(body), caller.user)
    return _issue_labels(sim, issue)


@router.delete("/repos/{owner}/{repo}/issues/{number}/labels", status_code=204)
def remove_all_issue_labels(
    owner: str,
    repo: str,
    number: int,
    sim: SimDep,
    caller: ActorDep,
) -> Response:
    issue = _triage_target(sim, owner, repo, number, caller)
    assert caller.user is not None
    issue_events.set_labels(sim, issue, [], caller.user)
    return Response(status_code=204)


@router.delete("/repos/{owner}/{repo}/issues/{number}/labels/{name}")
def remove_issue_label(
    owner: str,
    repo: str,
    number: int,
    name: str,
    sim: SimDep,
    caller: ActorDep,
) -> list[dict[str, Any]]:
    issue = _triage_target(sim, owner, repo, number, caller)
    assert caller.user is not None
    current = issue.get("labels", [])
    if name.lower() not in {n.lower() for n in current}:
        raise GitHubError(404, "Label does not exist")
    issue = issue_events.set_labels(
        sim, issue, [n for n in current if n.lower() != name.lower()], caller.user
    )
    return _issue_labels(sim, issue)
