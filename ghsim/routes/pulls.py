"""Pull requests: create (draft too), get, list, update, files, commits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel

from ghsim import gitrepo, issue_events, plans
from ghsim.auth import ActorDep, CallerDep
from ghsim.errors import GitHubError, limit_body, validation_failed
from ghsim.git_refs import git, resolve_commit
from ghsim.paging import paginate
from ghsim.routes.contents import commit_json
from ghsim.routes.issues import IssueUpdate, update_issue_fields
from ghsim.serialize_pulls import PullSerializer
from ghsim.sim import Sim, SimDep
from ghsim.state import now_iso
from ghsim.store import Doc

router = APIRouter()


_OptionalBody = Annotated[str | None, AfterValidator(limit_body("PullRequest"))]


class PullCreate(BaseModel):
    title: str | None = None
    head: str
    base: str
    body: _OptionalBody = None
    draft: bool = False
    maintainer_can_modify: bool = True


class PullUpdate(BaseModel):
    title: str | None = None
    body: _OptionalBody = None
    state: Literal["open", "closed"] | None = None
    base: str | None = None
    maintainer_can_modify: bool | None = None


def _custom(message: str) -> GitHubError:
    return GitHubError(
        422,
        "Validation Failed",
        [{"resource": "PullRequest", "code": "custom", "message": message}],
    )


def _head_branch(repo: Doc, head: str) -> str:
    owner, sep, branch = head.partition(":")
    if not sep:
        return head
    if owner.lower() != repo["owner"].lower():
        raise validation_failed("PullRequest", "head")
    return branch


@router.post("/repos/{owner}/{repo}/pulls", status_code=201)
def create_pull(
    owner: str,
    repo: str,
    body: PullCreate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    git_dir = sim.git_dir(found)
    head = _head_branch(found, body.head)
    base_sha = resolve_commit(git_dir, f"refs/heads/{body.base}")
    if base_sha is None:
        raise validation_failed("PullRequest", "base")
    head_sha = resolve_commit(git_dir, f"refs/heads/{head}")
    if head_sha is None:
        raise validation_failed("PullRequest", "head")
    if not body.title:
        raise validation_failed("PullRequest", "title", "missing_field")
    ahead = int(git(git_dir, "rev-list", "--count", f"{base_sha}..{head_sha}"))
    if head == body.base or ahead == 0:
        raise _custom(f"No commits between {body.base} and {head}")
    if body.draft and not plans.drafts_allowed(
        plans.plan_of(sim, found["owner_id"]), found["private"]
    ):
        # GitHub answers with a bare message here, not "Validation Failed" with `errors`.
        raise GitHubError(422, plans.DRAFTS_REFUSED)
    assert caller.user is not None
    with sim.store.transaction():
        if sim.store.first(
            "pull", repo_id=found["id"], head_ref=head, base_ref=body.base, state="open"
        ):
            raise _custom(f"A pull request already exists for {found['owner']}:{head}.")
        issue = issue_events.create_issue(
            sim, found, caller.user, body.title, body.body, is_pr=True
        )
        pull = sim.store.insert(
            "pull",
            {
                "repo_id": found["id"],
                "number": issue["number"],
                "issue_id": issue["id"],
                "state": "open",
                "head_ref": head,
                "head_sha": head_sha,
                "base_ref": body.base,
                "base_sha": base_sha,
                "draft": body.draft,
                "merged": False,
                "merged_at": None,
                "merge_commit_sha": None,
                "merged_by_id": None,
                "requested_reviewer_ids": [],
                "maintainer_can_modify": body.maintainer_can_modify,
                "created_at": now_iso(),
            },
        )
    issue_events.announce(sim, issue, "opened", caller.user)
    return PullSerializer(sim).pull_request(pull)


@router.get("/repos/{owner}/{repo}/pulls")
def list_pulls(
    *,
    owner: str,
    repo: str,
    request: Request,
    response: Response,
    state: Literal["open", "closed", "all"] = "open",
    head: str | None = None,
    base: str | None = None,
    sort: Literal["created", "updated", "popularity", "long-running"] = "created",
    direction: Literal["asc", "desc"] | None = None,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    pulls = sim.store.query("pull", repo_id=found["id"])
    if state != "all":
        pulls = [p for p in pulls if p["state"] == state]
    if head:
        head_owner, sep, branch = head.partition(":")
        if sep and head_owner.lower() != found["owner"].lower():
            pulls = []
        pulls = [p for p in pulls if p["head_ref"] == (branch if sep else head)]
    if base:
        pulls = [p for p in pulls if p["base_ref"] == base]
    descending = direction != "asc" if direction else sort in ("created", "updated")
    pulls.sort(key=lambda p: p["number"], reverse=descending)
    ser = PullSerializer(sim)
    return [ser.pull_request(p, "simple") for p in paginate(request, response, pulls)]


@router.get("/repos/{owner}/{repo}/pulls/{number}")
def get_pull(
    owner: str,
    repo: str,
    number: int,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    return PullSerializer(sim).pull_request(sim.pull_or_404(found, number))


@router.patch("/repos/{owner}/{repo}/pulls/{number}")
def update_pull(
    owner: str,
    repo: str,
    number: int,
    body: PullUpdate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    pull = sim.pull_or_404(found, number)
    issue = sim.issue_or_404(found, number)
    assert caller.user is not None
    if body.base is not None and body.base != pull["base_ref"]:
        base_sha = resolve_commit(sim.git_dir(found), f"refs/heads/{body.base}")
        if base_sha is None:
            raise validation_failed("PullRequest", "base")
        changes = {
            "base": {
                "ref": {"from": pull["base_ref"]},
                "sha": {"from": PullSerializer(sim).base_sha(pull)},
            }
        }
        sim.store.update("pull", pull["id"], {"base_ref": body.base, "base_sha": base_sha})
        issue_events.announce(sim, issue, "edited", caller.user, changes=changes)
    if body.maintainer_can_modify is not None:
        sim.store.update("pull", pull["id"], {"maintainer_can_modify": body.maintainer_can_modify})
    update_issue_fields(
        sim, found, issue, IssueUpdate(title=body.title, body=body.body, state=body.state), caller
    )
    return PullSerializer(sim).pull_request(sim.pull_or_404(found, number))


def pull_range(sim: Sim, repo: Doc, pull: Doc) -> tuple[str, str]:
    """(merge base, head) of the pull request's changes."""
    base = PullSerializer(sim).base_sha(pull)
    if pull.get("merged"):
        base = pull["base_sha"]
    start = gitrepo.merge_base(sim.git_dir(repo), base, pull["head_sha"]) or base
    return start, pull["head_sha"]


@router.get("/repos/{owner}/{repo}/pulls/{number}/files")
def list_files(
    owner: str,
    repo: str,
    number: int,
    request: Request,
    response: Response,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    pull = sim.pull_or_404(found, number)
    start, head = pull_range(sim, found, pull)
    files = gitrepo.diff(sim.git_dir(found), start, head)
    ser = PullSerializer(sim)
    return [ser.diff_entry(found, head, f) for f in paginate(request, response, files)]


@router.get("/repos/{owner}/{repo}/pulls/{number}/commits")
def list_commits(
    owner: str,
    repo: str,
    number: int,
    request: Request,
    response: Response,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    pull = sim.pull_or_404(found, number)
    start, head = pull_range(sim, found, pull)
    shas = git(sim.git_dir(found), "rev-list", "--reverse", f"{start}..{head}").decode().split()
    return [commit_json(sim, found, sha) for sha in paginate(request, response, shas)]
