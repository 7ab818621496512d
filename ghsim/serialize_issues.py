"""GitHub-shaped JSON for issues (pull requests included) and their comments."""

from __future__ import annotations

from typing import Any

from ghsim.serialize import Serializer
from ghsim.store import Doc


class IssueSerializer(Serializer):
    def labels_of(self, repo_id: int, names: list[str], rest: bool = False) -> list[Any]:
        found = (self.sim.find_label(repo_id, name) for name in names)
        return [self.label(label, rest) for label in found if label is not None]

    def issue(self, issue: Doc, rest: bool = False) -> dict[str, Any]:
        repo = self.sim.repo(issue["repo_id"])
        full, number = repo["full_name"], issue["number"]
        url = f"{self.api}/repos/{full}/issues/{number}"
        assignees = [self.user(self.sim.user(u)) for u in issue.get("assignee_ids", [])]
        comments = self.sim.store.count("comment", issue_id=issue["id"])
        out: dict[str, Any] = {
            "url": url,
            "repository_url": f"{self.api}/repos/{full}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.web}/{full}/{'pull' if issue['is_pr'] else 'issues'}/{number}",
            "id": issue["id"],
            "node_id": self.node("Issue", issue["id"]),
            "number": number,
            "title": issue["title"],
            "user": self.user(self.sim.user(issue["user_id"])),
            "labels": self.labels_of(repo["id"], issue.get("labels", []), rest),
            "state": issue["state"],
            "locked": issue.get("locked", False),
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": comments,
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": issue.get("closed_at"),
            "author_association": self.author_association(repo, issue["user_id"]),
            "active_lock_reason": None,
            "body": issue.get("body"),
            "reactions": self.reaction_rollup("issue", issue["id"], url),
            "draft": False,
        }
        if issue["is_pr"]:
            html = f"{self.web}/{full}/pull/{number}"
            out["pull_request"] = {
                "url": f"{self.api}/repos/{full}/pulls/{number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
            }
            pull = self.sim.pull_for_issue(issue)
            out["draft"] = bool(pull and pull["draft"])
            if rest:
                out["pull_request"]["merged_at"] = None if pull is None else pull.get("merged_at")
        if rest:
            closed_by = issue.get("closed_by_id")
            out.update(
                timeline_url=f"{url}/timeline",
                performed_via_github_app=None,
                state_reason=issue.get("state_reason"),
                closed_by=None if closed_by is None else self.user(self.sim.user(closed_by)),
            )
        return out

    def comments(self, comments: list[Doc], rest: bool = False) -> list[dict[str, Any]]:
        """Many comments, their reactions read in one query."""
        self.prefetch_reactions("comment", [c["id"] for c in comments])
        return [self.comment(c, rest) for c in comments]

    def comment(self, comment: Doc, rest: bool = False) -> dict[str, Any]:
        repo = self.sim.repo(comment["repo_id"])
        full = repo["full_name"]
        url = f"{self.api}/repos/{full}/issues/comments/{comment['id']}"
        kind = "pull" if comment.get("on_pr") else "issues"
        out: dict[str, Any] = {
            "url": url,
            "html_url": f"{self.web}/{full}/{kind}/{comment['issue_number']}"
            f"#issuecomment-{comment['id']}",
            "issue_url": f"{self.api}/repos/{full}/issues/{comment['issue_number']}",
            "id": comment["id"],
            "node_id": self.node("IssueComment", comment["id"]),
            "user": self.user(self.sim.user(comment["user_id"])),
            "created_at": comment["created_at"],
            "updated_at": comment["updated_at"],
            "author_association": self.author_association(repo, comment["user_id"]),
            "performed_via_github_app": None,
            "body": comment["body"],
            "reactions": self.reaction_rollup("comment", comment["id"], url),
        }
        return out
