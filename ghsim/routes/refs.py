"""Branches and git references (create, move, delete emit push events like a git push)."""

from __future__ import annotations

import zlib
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ghsim import gitrepo
from ghsim.auth import ActorDep, Caller, CallerDep, require_role
from ghsim.errors import GitHubError, not_found
from ghsim.git_refs import branches, is_ancestor, list_refs, resolve_commit
from ghsim.paging import paginate
from ghsim.push_events import after_push
from ghsim.routes.contents import commit_json
from ghsim.sim import Sim, SimDep
from ghsim.state import node_id
from ghsim.store import Doc

router = APIRouter()


def short_branch(sim: Sim, repo: Doc, name: str, sha: str) -> dict[str, Any]:
    """A branch as lists show it: name, commit sha and url, protection."""
    api = f"{sim.config.api_url}/repos/{repo['full_name']}"
    return {"name": name, "commit": {"sha": sha, "url": f"{api}/commits/{sha}"}, "protected": False}


def _ref_json(sim: Sim, repo: Doc, ref: str, sha: str, kind: str) -> dict[str, Any]:
    api = f"{sim.config.api_url}/repos/{repo['full_name']}"
    plural = {"commit": "commits", "tag": "tags", "tree": "trees", "blob": "blobs"}[kind]
    return {
        "ref": ref,
        "node_id": node_id("Ref", zlib.crc32(f"{repo['id']}:{ref}".encode())),
        "url": f"{api}/git/{ref}",
        "object": {"type": kind, "sha": sha, "url": f"{api}/git/{plural}/{sha}"},
    }


@router.get("/repos/{owner}/{repo}/branches")
def list_branches(
    owner: str,
    repo: str,
    request: Request,
    response: Response,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    heads = sorted(branches(sim.git_dir(found)).items())
    return [short_branch(sim, found, n, s) for n, s in paginate(request, response, heads)]


@router.get("/repos/{owner}/{repo}/branches/{branch:path}")
def get_branch(
    owner: str,
    repo: str,
    branch: str,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    sha = branches(sim.git_dir(found)).get(branch)
    if sha is None:
        raise GitHubError(404, "Branch not found")
    api = f"{sim.config.api_url}/repos/{found['full_name']}"
    return {
        "name": branch,
        "commit": commit_json(sim, found, sha),
        "protected": False,
        "_links": {
            "self": f"{api}/branches/{branch}",
            "html": f"{sim.config.base_url}/{found['full_name']}/tree/{branch}",
        },
        "protection": {
            "enabled": False,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
        "protection_url": f"{api}/branches/{branch}/protection",
    }


@router.get("/repos/{owner}/{repo}/git/ref/{ref:path}")
def get_ref(
    owner: str,
    repo: str,
    ref: str,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    for name, sha, kind in gitrepo.matching_refs(sim.git_dir(found), f"refs/{ref}"):
        if name == f"refs/{ref}":
            return _ref_json(sim, found, name, sha, kind)
    raise not_found()


@router.get("/repos/{owner}/{repo}/git/matching-refs/{ref:path}")
def matching_refs(
    owner: str,
    repo: str,
    ref: str,
    request: Request,
    response: Response,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    found = sim.repo_or_404(owner, repo)
    rows = gitrepo.matching_refs(sim.git_dir(found), f"refs/{ref}")
    return [_ref_json(sim, found, *row) for row in paginate(request, response, rows)]


class RefCreate(BaseModel):
    ref: str
    sha: str


class RefUpdate(BaseModel):
    sha: str
    force: bool = False


def _writable(sim: Sim, owner: str, repo: str, caller: Caller) -> Doc:
    found = sim.repo_or_404(owner, repo)
    require_role(sim, found, caller, "write")
    return found


def _existing_ref(git_dir: str, ref: str) -> tuple[str, dict[str, str]]:
    """The full name of ``ref`` (``heads/x`` or ``refs/heads/x``) and all refs; 422 if absent."""
    full = f"refs/{ref.removeprefix('refs/')}"
    refs = list_refs(git_dir)
    if full not in refs:
        raise GitHubError(422, "Reference does not exist")
    return full, refs


def _commit_or_422(git_dir: str, sha: str) -> str:
    """A full commit sha given in a body; 422 like GitHub for anything else."""
    found = resolve_commit(git_dir, sha) if len(sha) == 40 else None
    if found is None:
        raise GitHubError(422, "Object does not exist")
    return found


@router.post("/repos/{owner}/{repo}/git/refs", status_code=201)
def create_ref(
    owner: str,
    repo: str,
    body: RefCreate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    found = _writable(sim, owner, repo, caller)
    git_dir = sim.git_dir(found)
    if not body.ref.startswith("refs/") or body.ref.count("/") < 2:
        raise GitHubError(422, "Reference name is not valid")
    before = list_refs(git_dir)
    if body.ref in before:
        raise GitHubError(422, "Reference already exists")
    sha = _commit_or_422(git_dir, body.sha)
    gitrepo.update_ref(git_dir, body.ref, sha)
    after_push(sim, found["id"], before, caller)
    return _ref_json(sim, found, body.ref, sha, "commit")


@router.patch("/repos/{owner}/{repo}/git/refs/{ref:path}")
def update_ref(
    owner: str,
    repo: str,
    ref: str,
    body: RefUpdate,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    found = _writable(sim, owner, repo, caller)
    git_dir = sim.git_dir(found)
    full, before = _existing_ref(git_dir, ref)
    sha = _commit_or_422(git_dir, body.sha)
    if not body.force and not is_ancestor(git_dir, before[full], sha):
        raise GitHubError(422, "Update is not a fast forward")
    gitrepo.update_ref(git_dir, full, sha, before[full])
    after_push(sim, found["id"], before, caller)
    return _ref_json(sim, found, full, sha, "commit")


@router.delete("/repos/{owner}/{repo}/git/refs/{ref:path}", status_code=204)
def delete_ref(
    owner: str,
    repo: str,
    ref: str,
    sim: SimDep,
    caller: ActorDep,
) -> Response:
    found = _writable(sim, owner, repo, caller)
    git_dir = sim.git_dir(found)
    full, before = _existing_ref(git_dir, ref)
    gitrepo.delete_ref(git_dir, full)
    after_push(sim, found["id"], before, caller)
    return Response(status_code=204)
