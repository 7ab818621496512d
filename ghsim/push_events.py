"""What a push means on GitHub: `push`, `create` and `delete` webhooks, PR synchronize."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ghsim.auth import Caller
from ghsim.git_refs import (
    ZERO_SHA,
    Commit,
    changed_files,
    commits_between,
    git,
    is_ancestor,
    list_refs,
    read_commit,
    resolve_commit,
)
from ghsim.pull_sync import synchronize_pulls
from ghsim.serialize import Serializer
from ghsim.sim import Sim
from ghsim.state import noreply_email, now_iso
from ghsim.store import Doc

log = logging.getLogger("ghsim.push")


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def commit_payload(sim: Sim, repo: Doc, commit: Commit, distinct: bool = True) -> dict[str, Any]:
    """A commit as push payloads show it (`commits[]`, `head_commit`)."""
    added, removed, modified = changed_files(sim.git_dir(repo), commit)
    return {
        "id": commit.sha,
        "tree_id": commit.tree,
        "distinct": distinct,
        "message": commit.message,
        "timestamp": commit.committer_date,
        "url": f"{sim.config.base_url}/{repo['full_name']}/commit/{commit.sha}",
        "author": {"name": commit.author_name, "email": commit.author_email},
        "committer": {"name": commit.committer_name, "email": commit.committer_email},
        "added": added,
        "removed": removed,
        "modified": modified,
    }


def _push_repository(sim: Sim, repo: Doc) -> dict[str, Any]:
    # Push payloads alone carry epoch seconds and these two extra keys (see the recording).
    out = Serializer(sim).repository(repo)
    out.update(
        created_at=_epoch(repo["created_at"]),
        pushed_at=_epoch(repo.get("pushed_at") or repo["created_at"]),
        stargazers=0,
        master_branch=repo["default_branch"],
    )
    owner = out["owner"]
    out["owner"] = {
        "name": owner["login"],
        "email": noreply_email(owner),
        **owner,
    }
    return out


def _short(ref: str) -> tuple[str, str]:
    for prefix, kind in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        if ref.startswith(prefix):
            return kind, ref[len(prefix) :]
    return "ref", ref


def _adopt_default_branch(sim: Sim, repo: Doc, created: list[str]) -> Doc:
    """The first branch pushed to an empty repository becomes its default branch."""
    git_dir = sim.git_dir(repo)
    if resolve_commit(git_dir, "HEAD") is not None:
        return repo
    branches = [r for r in created if r.startswith("refs/heads/")]
    if not branches:
        return repo
    wanted = f"refs/heads/{repo['default_branch']}"
    chosen = wanted if wanted in branches else branches[0]
    git(git_dir, "symbolic-ref", "HEAD", chosen)
    return sim.store.update("repo", repo["id"], {"default_branch": _short(chosen)[1]})


def after_push(sim: Sim, repo_id: int, before: dict[str, str], caller: Caller) -> None:
    """Compare refs with those before the push and emit what GitHub emits for each change."""
    repo = sim.repo(repo_id)
    git_dir = sim.git_dir(repo)
    after = list_refs(git_dir)
    changes = [
        (ref, before.get(ref, ZERO_SHA), after.get(ref, ZERO_SHA))
        for ref in sorted(set(before) | set(after))
        if before.get(ref) != after.get(ref)
    ]
    if not changes:
        return
    repo = sim.store.update("repo", repo_id, {"pushed_at": now_iso(), "updated_at": now_iso()})
    repo = _adopt_default_branch(sim, repo, [ref for ref, old, _ in changes if old == ZERO_SHA])
    user = caller.user or sim.bot_user
    for ref, old, new in changes:
        try:
            _emit_ref_change(sim, repo, user, ref, old, new)
        except Exception:
            log.exception("push events for %s %s failed", repo["full_name"], ref)


def _emit_ref_change(sim: Sim, repo: Doc, user: Doc, ref: str, old: str, new: str) -> None:
    kind, short = _short(ref)
    if kind == "ref":
        # GitHub sends webhooks and starts `push` workflows for branches and tags only: a push
        # to another namespace (refs/notes/*, refs/pilot/*) starts nothing. "GitHub does not
        # fire webhooks for refs outside refs/heads or refs/tags"
        # (https://github.com/hashbang/git-signatures/pull/7); Actions' `push` "runs your
        # workflow when you push a commit or tag" (docs.github.com, events that trigger
        # workflows). The bot holds code it may not run CI on in such a ref (docs/security.md).
        return
    git_dir = sim.git_dir(repo)
    created, deleted = old == ZERO_SHA, new == ZERO_SHA
    forced = not created and not deleted and not is_ancestor(git_dir, old, new)
    commits = [] if deleted else commits_between(git_dir, old, new)
    head = None if deleted else commit_payload(sim, repo, read_commit(git_dir, new))
    html = f"{sim.config.base_url}/{repo['full_name']}"
    compare = (
        f"{html}/commit/{new[:12]}"
        if created and kind == "branch" and not commits
        else f"{html}/compare/{old[:12]}...{new[:12]}"
    )
    full_repo = _push_repository(sim, repo)
    pusher = {"name": user["login"], "email": noreply_email(user)}
    sim.webhooks.emit(
        "push",
        {
            "ref": ref,
            "before": old,
            "after": new,
            "created": created,
            "deleted": deleted,
            "forced": forced,
            "base_ref": None,
            "compare": compare,
            "commits": [commit_payload(sim, repo, c) for c in commits],
            "head_commit": head,
            "repository": full_repo,
            "pusher": pusher,
        },
        repo["full_name"],
        user,
    )
    base = Serializer(sim).repository(repo)
    if created:
        sim.webhooks.emit(
            "create",
            {
                "ref": short,
                "ref_type": kind,
                "master_branch": repo["default_branch"],
                "description": repo.get("description"),
                "pusher_type": "user",
                "repository": base,
            },
            repo["full_name"],
            user,
        )
    if deleted:
        sim.webhooks.emit(
            "delete",
            {
                "ref": short,
                "ref_type": kind,
                "pusher_type": "user",
                "repository": base,
            },
            repo["full_name"],
            user,
        )
    if kind == "branch" and not deleted:
        synchronize_pulls(sim, repo, user, short, old, new)
