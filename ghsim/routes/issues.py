"""Issues: create, get, list (pull requests included, as on GitHub), update and close."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel

from ghsim import issue_events
from ghsim.auth import ActorDep, Caller, CallerDep, has_role
from ghsim.errors import GitHubError, label_names, limit_body, validation_failed
from ghsim.paging import paginate
from ghsim.serialize_issues import IssueSerializer
from ghsim.sim import Sim, SimDep
from ghsim.state import now_iso
from ghsim.store import Doc

router = APIRouter()


IssueBody = Annotated[str | None, AfterValidator(limit_body("Issue"))]


class IssueCreate(BaseModel):
    title: str | int
    body: IssueBody = None
    labels: list[str | dict[str, Any]] = []
    assignees: list[str] = []
    assignee: str | None = None


class IssueUpdate(BaseModel):
    title: str | int | None = None
    body: IssueBody = None
    state: Literal["open", "closed"] | None = None
    state_reason: Literal["completed", "not_planned", "reopened", "duplicate"] | None = None
    labels: list[str | dict[str, Any]] | None = None
    assignees: list[str] | None = None
    assignee: str | None = None


def assign(sim: Sim, issue: Doc, logins: list[str]) -> Doc:
    ids = [sim.ensure_user(login)["id"] for login in dict.fromkeys(logins) if login]
    return sim.store.update("issue", issue["id"], {"assignee_ids": ids})


@router.post("/repos/{owner}/{repo}/issues", status_code=201)
def create_issue(
    owner: str,
    repo: str,
    body: IssueCreate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    if not str(body.title).strip():
        raise validation_failed("Issue", "title", "missing_field")
    assert caller.user is not None
    issue = issue_events.create_issue(sim, found, caller.user, str(body.title), body.body)
    labels = []
    if has_role(sim, found, caller, "triage"):
        issue = assign(sim, issue, body.assignees + ([body.assignee] if body.assignee else []))
        labels = [
            issue_events.ensure_label(sim, found["id"], name)
            for name in dict.fromkeys(label_names(body.labels))
            if name
        ]
        issue = sim.store.update("issue", issue["id"], {"labels": [x["name"] for x in labels]})
    # GitHub's opened payload already lists the labels, and each also gets its own event.
    issue_events.announce(sim, issue, "opened", caller.user)
    ser = IssueSerializer(sim)
    for label in labels:
        issue_events.announce(sim, issue, "labeled", caller.user, label=ser.label(label))
    return ser.issue(issue, rest=True)


@router.get("/repos/{owner}/{repo}/issues")
def list_issues(
    *,
    owner: str,
    repo: str,
    request: Request,
    response: Response,
    state: Literal["open", "closed", "all"] = "open",
    labels: str | None = None,
    assignee: str | None = None,
    creator: str | None = None,
    since: str | None = None,
    sort: Literal["created", "updated", "comments"] = "created",
    direction: Literal["asc", "desc"] = "desc",
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    issues = sim.store.query("issue", repo_id=found["id"])
    if state != "all":
        issues = [i for i in issues if i["state"] == state]
    if labels:
        wanted = {name.strip().lower() for name in labels.split(",") if name.strip()}
        issues = [i for i in issues if wanted <= {n.lower() for n in i.get("labels", [])}]
    if creator:
        user = sim.find_user(creator)
        issues = [i for i in issues if user is not None and i["user_id"] == user["id"]]
    if assignee == "none":
        issues = [i for i in issues if not i.get("assignee_ids")]
    elif assignee == "*":
        issues = [i for i in issues if i.get("assignee_ids")]
    elif assignee:
        user = sim.find_user(assignee)
        issues = [i for i in issues if user is not None and user["id"] in i["assignee_ids"]]
    if since:
        issues = [i for i in issues if i["updated_at"] >= since]
    key = {"created": "created_at", "updated": "updated_at"}.get(sort, "created_at")
    issues.sort(key=lambda i: (i[key], i["number"]), reverse=direction == "desc")
    ser = IssueSerializer(sim)
    return [ser.issue(i, rest=True) for i in paginate(request, response, issues)]


@router.get("/repos/{owner}/{repo}/issues/{number}")
def get_issue(
    owner: str,
    repo: str,
    number: int,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    return IssueSerializer(sim).issue(sim.issue_or_404(found, number), rest=True)


def update_issue_fields(sim: Sim, repo: Doc, issue: Doc, body: IssueUpdate, caller: Caller) -> Doc:
    """Apply an issue (or PR) update the way GitHub does, one event per kind of change."""
    assert caller.user is not None
    is_author = issue["user_id"] == caller.user["id"]
    triage = has_role(sim, repo, caller, "triage")
    if not (triage or is_author):
        raise GitHubError(403, "Must have admin rights to Repository.")
    if body.title is not None and not str(body.title).strip():
        raise validation_failed("Issue", "title", "missing_field")
    title = None if body.title is None else str(body.title)
    issue = issue_events.edit(sim, issue, title, body.body, caller.user)
    if triage and (body.assignees is not None or body.assignee is not None):
        logins = body.assignees if body.assignees is not None else [body.assignee or ""]
        issue = assign(sim, issue, logins)
        issue = sim.store.update("issue", issue["id"], {"updated_at": now_iso()})
    if triage and body.labels is not None:
        issue = issue_events.set_labels(sim, issue, label_names(body.labels), caller.user)
    if body.state is not None:
        issue = issue_events.set_state(sim, issue, body.state, body.state_reason, caller.user)
    elif body.state_reason is not None and issue["state"] == "closed":
        issue = sim.store.update("issue", issue["id"], {"state_reason": body.state_reason})
    return issue


@router.patch("/repos/{owner}/{repo}/issues/{number}")
def update_issue(
    owner: str,
    repo: str,
    number: int,
    body: IssueUpdate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    issue = update_issue_fields(sim, found, sim.issue_or_404(found, number), body, caller)
    return IssueSerializer(sim).issue(issue, rest=True)
