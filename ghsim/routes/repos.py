"""Repositories: create for a user or an organization, get."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from ghsim import gitrepo
from ghsim.auth import ActorDep, CallerDep, caller_role
from ghsim.errors import GitHubError, not_found
from ghsim.serialize import Serializer
from ghsim.sim import Sim, SimDep
from ghsim.state import noreply_email, now_iso
from ghsim.store import Doc

router = APIRouter()
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
DEFAULT_LABELS = [
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
]


class RepoCreate(BaseModel):
    name: str
    description: str | None = None
    homepage: str | None = None
    private: bool = False
    visibility: str | None = None
    auto_init: bool = False
    default_branch: str | None = None


def _creation_failed(message: str) -> GitHubError:
    error = {"resource": "Repository", "code": "custom", "field": "name", "message": message}
    return GitHubError(422, "Repository creation failed.", [error])


def create_repository(sim: Sim, owner: Doc, creator: Doc, spec: RepoCreate) -> Doc:
    """Store the repository, init its bare git dir, its default labels and maybe a README."""
    if not _NAME.match(spec.name) or spec.name in (".", ".."):
        raise _creation_failed("name is invalid")
    with sim.store.transaction():
        if sim.find_repo(owner["login"], spec.name) is not None:
            raise _creation_failed("name already exists on this account")
        now = now_iso()
        repo = sim.store.insert(
            "repo",
            {
                "owner": owner["login"],
                "owner_id": owner["id"],
                "creator_id": creator["id"],
                "name": spec.name,
                "full_name": f"{owner['login']}/{spec.name}",
                "full_name_lower": f"{owner['login']}/{spec.name}".lower(),
                "private": spec.private or spec.visibility == "private",
                "description": spec.description,
                "homepage": spec.homepage,
                "default_branch": spec.default_branch or "main",
                "created_at": now,
                "updated_at": now,
                "pushed_at": None,
            },
        )
        for name, color, description in DEFAULT_LABELS:
            sim.store.insert(
                "label",
                {
                    "repo_id": repo["id"],
                    "name": name,
                    "name_lower": name,
                    "color": color,
                    "description": description,
                    "default": True,
                },
            )
    git_dir = sim.git_dir(repo)
    gitrepo.init_bare(git_dir, repo["default_branch"])
    if spec.auto_init:
        readme = f"# {spec.name}\n" + (f"\n{spec.description}\n" if spec.description else "")
        gitrepo.commit_files(
            git_dir,
            repo["default_branch"],
            {"README.md": readme.encode()},
            "Initial commit",
            creator["login"],
            noreply_email(creator),
        )
        repo = sim.store.update("repo", repo["id"], {"pushed_at": now_iso()})
    return repo


@router.post("/user/repos", status_code=201)
def create_for_user(spec: RepoCreate, sim: SimDep, caller: ActorDep) -> dict[str, Any]:
    if caller.kind != "user" or caller.user is None:
        raise GitHubError(403, "Resource not accessible by integration")
    repo = create_repository(sim, caller.user, caller.user, spec)
    return Serializer(sim).repository(repo, rest=True)


@router.post("/orgs/{org}/repos", status_code=201)
def create_for_org(
    org: str,
    spec: RepoCreate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    account = sim.find_user(org)
    if account is not None and account["type"] != "Organization":
        raise not_found()
    if account is None:
        account = sim.ensure_user(org, "Organization")
    assert caller.user is not None
    repo = create_repository(sim, account, caller.user, spec)
    return Serializer(sim).repository(repo, rest=True)


@router.get("/repos/{owner}/{repo}")
def get_repository(owner: str, repo: str, sim: SimDep, caller: CallerDep) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    return Serializer(sim).repository(found, rest=True, role=caller_role(sim, found, caller))
