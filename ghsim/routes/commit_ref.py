"""Resolve the `{ref}` of `/commits/{ref}/...` routes: a commit sha, a branch or a tag."""

from __future__ import annotations

from ghsim.errors import GitHubError
from ghsim.git_refs import branches, resolve_commit
from ghsim.sim import Sim
from ghsim.store import Doc


def commit_sha(sim: Sim, repo: Doc, ref: str) -> str:
    """The commit a ref names; 422 like GitHub when there is none."""
    sha = resolve_commit(sim.git_dir(repo), ref)
    if sha is None:
        raise GitHubError(422, f"No commit found for SHA: {ref}")
    return sha


def branch_at(sim: Sim, repo: Doc, sha: str) -> str | None:
    """A branch whose tip is this commit, the default branch first."""
    heads = branches(sim.git_dir(repo))
    if heads.get(repo["default_branch"]) == sha:
        return str(repo["default_branch"])
    return next((name for name, target in sorted(heads.items()) if target == sha), None)
