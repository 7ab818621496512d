"""Files at a ref (the contents API) and single commits."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter

from ghsim import gitrepo
from ghsim.auth import CallerDep
from ghsim.errors import GitHubError, not_found
from ghsim.git_refs import EMPTY_TREE, read_commit, resolve_commit
from ghsim.serialize_pulls import PullSerializer
from ghsim.sim import Sim, SimDep
from ghsim.state import node_id
from ghsim.store import Doc

router = APIRouter()
_TYPES = {"blob": "file", "tree": "dir", "commit": "submodule"}


def _item(sim: Sim, repo: Doc, ref: str, entry: gitrepo.TreeEntry) -> dict[str, Any]:
    api = f"{sim.config.api_url}/repos/{repo['full_name']}"
    web = f"{sim.config.base_url}/{repo['full_name']}"
    kind = "symlink" if entry.mode == "120000" else _TYPES[entry.type]
    url = f"{api}/contents/{entry.path}?ref={ref}"
    git_url = f"{api}/git/{'trees' if kind == 'dir' else 'blobs'}/{entry.sha}"
    html_url = f"{web}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{entry.path}"
    return {
        "type": kind,
        "size": entry.size,
        "name": entry.path.rsplit("/", 1)[-1],
        "path": entry.path,
        "sha": entry.sha,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": None if kind == "dir" else f"{web}/raw/{ref}/{entry.path}",
        "_links": {"self": url, "git": git_url, "html": html_url},
    }


def _contents(sim: Sim, owner: str, name: str, path: str, ref: str | None) -> Any:
    repo = sim.repo_or_404(owner, name)
    git_dir = sim.git_dir(repo)
    ref = ref or repo["default_branch"]
    commit = resolve_commit(git_dir, ref)
    if commit is None:
        if resolve_commit(git_dir, "HEAD") is None:
            raise GitHubError(404, "This repository is empty.")
        raise GitHubError(404, f"No commit found for the ref {ref}")
    entry, children = gitrepo.ls_tree(git_dir, commit, path)
    if path.strip("/") and entry is None:
        raise not_found()
    if entry is not None and entry.type == "blob":
        data = gitrepo.read_blob(git_dir, entry.sha)
        encoded = base64.encodebytes(data).decode()
        return {**_item(sim, repo, ref, entry), "encoding": "base64", "content": encoded}
    return [_item(sim, repo, ref, child) for child in children]


@router.get("/repos/{owner}/{repo}/contents")
def get_root_contents(
    *,
    owner: str,
    repo: str,
    ref: str | None = None,
    sim: SimDep,
    _: CallerDep,
) -> Any:
    return _contents(sim, owner, repo, "", ref)


@router.get("/repos/{owner}/{repo}/contents/{path:path}")
def get_contents(
    *,
    owner: str,
    repo: str,
    path: str,
    ref: str | None = None,
    sim: SimDep,
    _: CallerDep,
) -> Any:
    return _contents(sim, owner, repo, path, ref)


def commit_json(sim: Sim, repo: Doc, sha: str, with_files: bool = False) -> dict[str, Any]:
    """A commit as ``GET /repos/{o}/{r}/commits/{ref}`` shows it."""
    git_dir = sim.git_dir(repo)
    commit = read_commit(git_dir, sha)
    api = f"{sim.config.api_url}/repos/{repo['full_name']}"
    web = f"{sim.config.base_url}/{repo['full_name']}"
    ser = PullSerializer(sim)

    def person(name: str, email: str, date: str) -> dict[str, str]:
        return {"name": name, "email": email, "date": date.replace("+00:00", "Z")}

    def account(email: str) -> dict[str, Any] | None:
        login = email.split("@")[0].split("+")[-1]
        user = sim.find_user(login) if email.endswith("@users.noreply.github.com") else None
        return None if user is None else ser.user(user)

    out: dict[str, Any] = {
        "url": f"{api}/commits/{sha}",
        "sha": sha,
        "node_id": node_id("Commit", int(sha[:7], 16)),
        "html_url": f"{web}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": person(commit.author_name, commit.author_email, commit.author_date),
            "committer": person(
                commit.committer_name, commit.committer_email, commit.committer_date
            ),
            "message": commit.message,
            "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "author": account(commit.author_email),
        "committer": account(commit.committer_email),
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{web}/commit/{p}"}
            for p in commit.parents
        ],
    }
    if with_files:
        base = commit.parents[0] if commit.parents else EMPTY_TREE
        files = gitrepo.diff(git_dir, base, sha)
        adds, dels = sum(f.additions for f in files), sum(f.deletions for f in files)
        out["stats"] = {"total": adds + dels, "additions": adds, "deletions": dels}
        out["files"] = [ser.diff_entry(repo, sha, f) for f in files]
    return out


@router.get("/repos/{owner}/{repo}/commits/{ref}")
def get_commit(
    owner: str,
    repo: str,
    ref: str,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    found = sim.repo_or_404(owner, repo)
    sha = resolve_commit(sim.git_dir(found), ref)
    if sha is None:
        raise GitHubError(422, f"No commit found for SHA: {ref}")
    return commit_json(sim, found, sha, with_files=True)
