"""Merging a pull request: a real merge (or squash) commit moves the base branch."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel

from ghsim import gitrepo, issue_events
from ghsim.auth import ActorDep, Caller, CallerDep, require_role
from ghsim.errors import GitHubError, not_found
from ghsim.git_refs import is_ancestor, list_refs, resolve_commit
from ghsim.push_events import after_push
from ghsim.sim import Sim, SimDep
from ghsim.state import noreply_email, now_iso
from ghsim.store import Doc

router = APIRouter()


class MergeRequest(BaseModel):
    commit_title: str | None = None
    commit_message: str | None = None
    sha: str | None = None
    merge_method: Literal["merge", "squash", "rebase"] = "merge"


def _squash(git_dir: str, base: str, head: str, message: str, user: Doc) -> str | None:
    """One commit on ``base`` with the tree ``head`` merged into it would have."""
    tree = gitrepo.merge_tree(git_dir, base, head)
    if tree is None:
        return None
    return gitrepo.commit_tree(git_dir, tree, [base], message, user["login"], noreply_email(user))


def merge_commit(sim: Sim, repo: Doc, pull: Doc, body: MergeRequest, user: Doc) -> str:
    """Create the commit the base branch moves to; raises 405 when it cannot be made."""
    git_dir = sim.git_dir(repo)
    base = resolve_commit(git_dir, f"refs/heads/{pull['base_ref']}")
    head = pull["head_sha"]
    if base is None:
        raise GitHubError(405, "Base branch was deleted")
    issue = sim.issue_or_404(repo, pull["number"])
    title = body.commit_title or (
        f"Merge pull request #{pull['number']} from {repo['owner']}/{pull['head_ref']}"
        if body.merge_method == "merge"
        else f"{issue['title']} (#{pull['number']})"
    )
    message = title + (
        f"\n\n{body.commit_message}"
        if body.commit_message
        else f"\n\n{issue['title']}"
        if body.merge_method == "merge"
        else ""
    )
    if body.merge_method == "rebase":
        if not is_ancestor(git_dir, base, head):
            raise GitHubError(405, "This branch can't be rebased")
        return str(head)
    if body.merge_method == "squash":
        sha = _squash(git_dir, base, head, message, user)
    else:
        sha = gitrepo.merge(git_dir, base, head, message, user["login"], noreply_email(user))
    if sha is None:
        raise GitHubError(405, "Pull Request is not mergeable")
    return sha


@router.put("/repos/{owner}/{repo}/pulls/{number}/merge")
async def merge_pull(
    *,
    owner: str,
    repo: str,
    number: int,
    body: Annotated[MergeRequest | None, Body()] = None,
    sim: SimDep,
    caller: ActorDep,
) -> dict[str, Any]:
    """A merge moves the base branch: it holds the repository's ref lock, as pushes do, so
    concurrent merges of one PR give one merge and 405 for the others."""
    found = await asyncio.to_thread(sim.repo_or_404, owner, repo)
    async with sim.repo_lock(found["id"]):
        work = asyncio.ensure_future(
            asyncio.to_thread(_merge, sim, found, number, body or MergeRequest(), caller)
        )
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # Keep the lock until the thread is done with the refs.
            await asyncio.wait([work])
            raise


def _merge(sim: Sim, found: Doc, number: int, body: MergeRequest, caller: Caller) -> dict[str, Any]:
    require_role(sim, found, caller, "write")
    pull = sim.pull_or_404(found, number)
    assert caller.user is not None
    if pull["merged"] or pull["state"] != "open":
        raise GitHubError(405, "Pull Request is not mergeable")
    if pull["draft"]:
        raise GitHubError(405, "Pull Request is still a draft")
    if body.sha and body.sha != pull["head_sha"]:
        raise GitHubError(409, "Head branch was modified. Review and try the merge again.")
    git_dir = sim.git_dir(found)
    before = list_refs(git_dir)
    base_before = before[f"refs/heads/{pull['base_ref']}"]
    sha = merge_commit(sim, found, pull, body, caller.user)
    gitrepo.update_ref(git_dir, f"refs/heads/{pull['base_ref']}", sha, base_before)
    now = now_iso()
    pull = sim.store.update(
        "pull",
        pull["id"],
        {
            "merged": True,
            "merged_at": now,
            "merge_commit_sha": sha,
            "state": "closed",
            "merged_by_id": caller.user["id"],
            "base_sha": base_before,
        },
    )
    issue = sim.store.update(
        "issue",
        pull["issue_id"],
        {
            "state": "closed",
            "state_reason": "completed",
            "closed_at": now,
            "updated_at": now,
            "closed_by_id": caller.user["id"],
        },
    )
    issue_events.announce(sim, issue, "closed", caller.user)
    after_push(sim, found["id"], before, caller)
    return {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}


@router.get("/repos/{owner}/{repo}/pulls/{number}/merge", status_code=204)
def check_merged(
    owner: str,
    repo: str,
    number: int,
    sim: SimDep,
    _: CallerDep,
) -> Response:
    pull = sim.pull_or_404(sim.repo_or_404(owner, repo), number)
    if not pull["merged"]:
        raise not_found()
    return Response(status_code=204)
