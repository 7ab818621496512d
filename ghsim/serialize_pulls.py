"""GitHub-shaped JSON for pull requests, reviews and review comments."""

from __future__ import annotations

from typing import Any

from ghsim import gitrepo
from ghsim.git_refs import git, resolve_commit
from ghsim.serialize_issues import IssueSerializer
from ghsim.store import Doc

_REVIEW_STATES = {
    "APPROVED": "approved",
    "CHANGES_REQUESTED": "changes_requested",
    "COMMENTED": "commented",
    "DISMISSED": "dismissed",
    "PENDING": "pending",
}


class PullSerializer(IssueSerializer):
    def base_sha(self, pull: Doc) -> str:
        """The base branch's current tip while open (GitHub keeps it moving)."""
        if pull["state"] == "open":
            repo = self.sim.repo(pull["repo_id"])
            current = resolve_commit(self.sim.git_dir(repo), f"refs/heads/{pull['base_ref']}")
            if current:
                return current
        return str(pull["base_sha"])

    def _side(self, pull: Doc, which: str) -> dict[str, Any]:
        repo = self.sim.repo(pull["repo_id"])
        ref = pull[f"{which}_ref"]
        sha = pull["head_sha"] if which == "head" else self.base_sha(pull)
        return {
            "label": f"{repo['owner']}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(self.sim.user(repo["owner_id"])),
            "repo": self.repository(repo),
        }

    def pull_request(self, pull: Doc, variant: str = "full") -> dict[str, Any]:
        """``variant``: full (REST get, most events), simple (lists, review events) or
        review_comment (review comment events)."""
        repo = self.sim.repo(pull["repo_id"])
        issue = self.sim.store.get("issue", pull["issue_id"])
        assert issue is not None
        full, number = repo["full_name"], pull["number"]
        url = f"{self.api}/repos/{full}/pulls/{number}"
        html = f"{self.web}/{full}/pull/{number}"
        issue_url = f"{self.api}/repos/{full}/issues/{number}"
        statuses = f"{self.api}/repos/{full}/statuses/{pull['head_sha']}"
        assignees = [self.user(self.sim.user(u)) for u in issue.get("assignee_ids", [])]
        out: dict[str, Any] = {
            "url": url,
            "id": pull["id"],
            "node_id": self.node("PullRequest", pull["id"]),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_url,
            "number": number,
            "state": issue["state"],
            "locked": issue.get("locked", False),
            "title": issue["title"],
            "user": self.user(self.sim.user(issue["user_id"])),
            "body": issue.get("body"),
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": issue.get("closed_at"),
            "merged_at": pull.get("merged_at"),
            "merge_commit_sha": pull.get("merge_commit_sha"),
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "requested_reviewers": [
                self.user(self.sim.user(u)) for u in pull.get("requested_reviewer_ids", [])
            ],
            "requested_teams": [],
            "labels": self.labels_of(repo["id"], issue.get("labels", [])),
            "milestone": None,
            "draft": pull["draft"],
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.api}/repos/{full}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": statuses,
            "head": self._side(pull, "head"),
            "base": self._side(pull, "base"),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": out_review_comment(self.api, full)},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": statuses},
            },
            "author_association": self.author_association(repo, issue["user_id"]),
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if variant == "full":
            out.update(self._counts(repo, pull))
        elif variant == "review_comment":
            del out["auto_merge"], out["draft"]
        return out

    def _counts(self, repo: Doc, pull: Doc) -> dict[str, Any]:
        git_dir = self.sim.git_dir(repo)
        base = self.base_sha(pull)
        start = gitrepo.merge_base(git_dir, base, pull["head_sha"]) or base
        files = gitrepo.diff(git_dir, start, pull["head_sha"])
        commits = int(git(git_dir, "rev-list", "--count", f"{start}..{pull['head_sha']}"))
        is_open = bool(pull["state"] == "open")
        can_merge = is_open and gitrepo.mergeable(git_dir, base, pull["head_sha"])
        state = (
            "unknown"
            if not is_open
            else ("draft" if pull["draft"] else "clean" if can_merge else "dirty")
        )
        return {
            "merged": bool(pull.get("merged")),
            "mergeable": can_merge if is_open else None,
            "rebaseable": can_merge if is_open else None,
            "mergeable_state": state,
            "merged_by": self.user_by_id(pull.get("merged_by_id")),
            "comments": self.sim.store.count("comment", issue_id=pull["issue_id"]),
            "review_comments": self.sim.store.count("review_comment", pull_id=pull["id"]),
            "maintainer_can_modify": False,
            "commits": commits,
            "additions": sum(f.additions for f in files),
            "deletions": sum(f.deletions for f in files),
            "changed_files": len(files),
        }

    def pull_request_minimal(self, pull: Doc) -> dict[str, Any]:
        """The ``{url, id, number, head, base}`` form of check suites and runs."""
        repo = self.sim.repo(pull["repo_id"])
        lite = {
            "id": repo["id"],
            "url": f"{self.api}/repos/{repo['full_name']}",
            "name": repo["name"],
        }
        return {
            "url": f"{self.api}/repos/{repo['full_name']}/pulls/{pull['number']}",
            "id": pull["id"],
            "number": pull["number"],
            "head": {"ref": pull["head_ref"], "sha": pull["head_sha"], "repo": lite},
            "base": {"ref": pull["base_ref"], "sha": self.base_sha(pull), "repo": lite},
        }

    def review(self, review: Doc, rest: bool = False) -> dict[str, Any]:
        repo = self.sim.repo(review["repo_id"])
        full = repo["full_name"]
        pull_url = f"{self.api}/repos/{full}/pulls/{review['pull_number']}"
        html = f"{self.web}/{full}/pull/{review['pull_number']}#pullrequestreview-{review['id']}"
        state = review["state"] if rest else _REVIEW_STATES[review["state"]]
        out: dict[str, Any] = {
            "id": review["id"],
            "node_id": self.node("PullRequestReview", review["id"]),
            "user": self.user(self.sim.user(review["user_id"])),
            "body": review["body"],
            "commit_id": review["commit_id"],
            "submitted_at": review["submitted_at"],
            "state": state,
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": self.author_association(repo, review["user_id"]),
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
        }
        return out

    def review_comments(self, comments: list[Doc], rest: bool = False) -> list[dict[str, Any]]:
        """Many review comments, their reactions read in one query."""
        self.prefetch_reactions("review_comment", [c["id"] for c in comments])
        return [self.review_comment(c, rest) for c in comments]

    def review_comment(self, comment: Doc, rest: bool = False) -> dict[str, Any]:
        repo = self.sim.repo(comment["repo_id"])
        full = repo["full_name"]
        url = f"{self.api}/repos/{full}/pulls/comments/{comment['id']}"
        pull_url = f"{self.api}/repos/{full}/pulls/{comment['pull_number']}"
        html = f"{self.web}/{full}/pull/{comment['pull_number']}#discussion_r{comment['id']}"
        out: dict[str, Any] = {
            "url": url,
            "pull_request_review_id": comment.get("review_id"),
            "id": comment["id"],
            "node_id": self.node("PullRequestReviewComment", comment["id"]),
            "diff_hunk": comment["diff_hunk"],
            "path": comment["path"],
            "position": comment.get("position"),
            "original_position": comment.get("position"),
            "commit_id": comment["commit_id"],
            "original_commit_id": comment["commit_id"],
            "user": self.user(self.sim.user(comment["user_id"])),
            "body": comment["body"],
            "created_at": comment["created_at"],
            "updated_at": comment["updated_at"],
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": self.author_association(repo, comment["user_id"]),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "pull_request": {"href": pull_url},
            },
            "reactions": self.reaction_rollup("review_comment", comment["id"], url),
            "start_line": comment.get("start_line"),
            "original_start_line": comment.get("start_line"),
            "start_side": comment.get("start_side"),
            "line": comment.get("line"),
            "original_line": comment.get("line"),
            "side": comment.get("side"),
        }
        if comment.get("in_reply_to_id") is not None:
            out["in_reply_to_id"] = comment["in_reply_to_id"]
        if rest:
            out["subject_type"] = "line" if comment.get("line") is not None else "file"
        return out

    def diff_entry(self, repo: Doc, head_sha: str, entry: gitrepo.FileDiff) -> dict[str, Any]:
        full = repo["full_name"]
        out: dict[str, Any] = {
            "sha": entry.sha,
            "filename": entry.filename,
            "status": entry.status,
            "additions": entry.additions,
            "deletions": entry.deletions,
            "changes": entry.additions + entry.deletions,
            "blob_url": f"{self.web}/{full}/blob/{head_sha}/{entry.filename}",
            "raw_url": f"{self.web}/{full}/raw/{head_sha}/{entry.filename}",
            "contents_url": f"{self.api}/repos/{full}/contents/{entry.filename}?ref={head_sha}",
            "patch": entry.patch,
        }
        if entry.previous_filename:
            out["previous_filename"] = entry.previous_filename
        return out


def out_review_comment(api: str, full: str) -> str:
    return f"{api}/repos/{full}/pulls/comments{{/number}}"
