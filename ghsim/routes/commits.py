"""Commit lists and comparisons: ``GET /repos/{o}/{r}/commits`` and ``.../compare/{basehead}``.

Shapes and refusals follow https://docs.github.com/rest/commits/commits: an empty repository
answers 409 "Git Repository is empty.", a ``sha`` that names nothing 404 "No commit found for
SHA: <sha>", a comparison of unrelated histories 404 "No common ancestor between <base> and
<head>.", one whose refs name nothing 404 "Not Found".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from ghsim import gitrepo
from ghsim.auth import CallerDep
from ghsim.errors import GitHubError, not_found
from ghsim.git_refs import git, resolve_commit
from ghsim.paging import paginate
from ghsim.routes.contents import commit_json
from ghsim.serialize_pulls import PullSerializer
from ghsim.sim import SimDep

router = APIRouter()
# A comparison lists at most 250 commits unless the caller pages through them, and 300 files.
COMPARE_MAX_COMMITS = 250
COMPARE_MAX_FILES = 300


def _date_arg(flag: str, value: datetime | None) -> list[str]:
    # rev-list's own epoch bounds: `--since` goes through git's approximate date parser.
    return [] if value is None else [f"{flag}={int(value.timestamp())}"]


@router.get("/repos/{owner}/{repo}/commits")
def list_commits(
    *,
    owner: str,
    repo: str,
    request: Request,
    response: Response,
    sha: str | None = None,
    path: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sim: SimDep,
    _: CallerDep,
) -> list[dict[str, Any]]:
    """Newest first from ``sha`` (a branch, tag or commit; the default branch without it)."""
    found = sim.repo_or_404(owner, repo)
    git_dir = sim.git_dir(found)
    if not git(git_dir, "for-each-ref", "--count=1").strip():
        raise GitHubError(409, "Git Repository is empty.")
    start = resolve_commit(git_dir, sha or found["default_branch"])
    if start is None:
        raise GitHubError(404, f"No commit found for SHA: {sha or found['default_branch']}")
    args = ["rev-list", *_date_arg("--max-age", since), *_date_arg("--min-age", until), start]
    if path:
        args += ["--", path]
    shas = git(git_dir, *args).decode().split()
    return [commit_json(sim, found, s) for s in paginate(request, response, shas)]


@router.get("/repos/{owner}/{repo}/compare/{basehead:path}")
def compare(
    owner: str,
    repo: str,
    basehead: str,
    request: Request,
    response: Response,
    sim: SimDep,
    _: CallerDep,
) -> dict[str, Any]:
    """``BASE...HEAD`` (or ``BASE..HEAD``): the commits and files of head since the two met."""
    found = sim.repo_or_404(owner, repo)
    base_ref, sep, head_ref = basehead.partition("...")
    if not sep:
        base_ref, sep, head_ref = basehead.partition("..")
    if not sep or not base_ref or not head_ref:
        raise not_found()
    git_dir = sim.git_dir(found)
    base, head = resolve_commit(git_dir, base_ref), resolve_commit(git_dir, head_ref)
    if base is None or head is None:
        raise not_found()
    merge_base = gitrepo.merge_base(git_dir, base, head)
    if merge_base is None:
        raise GitHubError(404, f"No common ancestor between {base_ref} and {head_ref}.")
    ahead = git(git_dir, "rev-list", "--reverse", f"{merge_base}..{head}").decode().split()
    behind = int(git(git_dir, "rev-list", "--count", f"{merge_base}..{base}"))
    status = (
        "identical"
        if not ahead and not behind
        else "ahead"
        if not behind
        else "behind"
        if not ahead
        else "diverged"
    )
    paged = "page" in request.query_params or "per_page" in request.query_params
    listed = paginate(request, response, ahead) if paged else ahead[:COMPARE_MAX_COMMITS]
    api = f"{sim.config.api_url}/repos/{found['full_name']}"
    web = f"{sim.config.base_url}/{found['full_name']}"
    files = gitrepo.diff(git_dir, merge_base, head)[:COMPARE_MAX_FILES]
    ser = PullSerializer(sim)
    return {
        "url": f"{api}/compare/{basehead}",
        "html_url": f"{web}/compare/{basehead}",
        "permalink_url": f"{web}/compare/{found['owner']}:{base[:7]}...{found['owner']}:{head[:7]}",
        "diff_url": f"{web}/compare/{basehead}.diff",
        "patch_url": f"{web}/compare/{basehead}.patch",
        "base_commit": commit_json(sim, found, base),
        "merge_base_commit": commit_json(sim, found, merge_base),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": behind,
        "total_commits": len(ahead),
        "commits": [commit_json(sim, found, s) for s in listed],
        "files": [ser.diff_entry(found, head, f) for f in files],
    }
