"""GitHub-shaped JSON for CI documents: apps, check suites, check runs, workflows, runs, jobs."""

from __future__ import annotations

from typing import Any

from ghsim.ci.records import ACTIONS_APP, latest_check_runs
from ghsim.serialize import EPOCH, Serializer
from ghsim.serialize_pulls import PullSerializer
from ghsim.store import Doc

ACTIONS_APP_ID = 15368
# Keys of a repository inside workflow_run payloads (a minimal repository, as recorded).
_MINIMAL_REPO_DROP = (
    "created_at",
    "updated_at",
    "pushed_at",
    "git_url",
    "ssh_url",
    "clone_url",
    "svn_url",
    "homepage",
    "size",
    "stargazers_count",
    "watchers_count",
    "language",
    "has_issues",
    "has_projects",
    "has_downloads",
    "has_wiki",
    "has_pages",
    "forks_count",
    "mirror_url",
    "archived",
    "disabled",
    "open_issues_count",
    "license",
    "forks",
    "open_issues",
    "watchers",
    "default_branch",
    "is_template",
    "topics",
    "visibility",
    "web_commit_signoff_required",
    "custom_properties",
)


class CIShapes:
    def __init__(self, ser: Serializer) -> None:
        self.ser = ser
        self.sim = ser.sim
        self.api = ser.api
        self.web = ser.web

    def _repo(self, repo_id: int) -> Doc:
        return self.sim.repo(repo_id)

    def repo_api(self, repo_id: int) -> str:
        return f"{self.api}/repos/{self._repo(repo_id)['full_name']}"

    def repo_web(self, repo_id: int) -> str:
        return f"{self.web}/{self._repo(repo_id)['full_name']}"

    def minimal_repository(self, repo_id: int) -> dict[str, Any]:
        full = self.ser.repository(self._repo(repo_id))
        return {k: v for k, v in full.items() if k not in _MINIMAL_REPO_DROP}

    def app(self, slug: str) -> dict[str, Any]:
        if slug != ACTIONS_APP:
            return self.ser.app()
        owner = self.sim.ensure_user("github", "Organization")
        return {
            "id": ACTIONS_APP_ID,
            "slug": ACTIONS_APP,
            "node_id": self.ser.node("Integration", ACTIONS_APP_ID),
            "owner": self.ser.user(owner),
            "name": "GitHub Actions",
            "description": "Automate your workflow from idea to production",
            "external_url": "https://help.github.com/en/actions",
            "html_url": f"{self.web}/apps/github-actions",
            "created_at": EPOCH,
            "updated_at": EPOCH,
            "permissions": {
                "actions": "write",
                "checks": "write",
                "contents": "write",
                "metadata": "read",
                "pull_requests": "write",
                "statuses": "write",
            },
            "events": ["check_run", "check_suite", "pull_request", "push"],
        }

    def pull_requests(self, repo_id: int, head_sha: str) -> list[dict[str, Any]]:
        """Open pull requests whose head is this commit (PullRequestMinimal)."""
        pulls = PullSerializer(self.sim)
        return [
            pulls.pull_request_minimal(p)
            for p in self.sim.store.query("pull", repo_id=repo_id, state="open", head_sha=head_sha)
        ]

    def check_suite(self, suite: Doc, rest: bool = True) -> dict[str, Any]:
        url = f"{self.repo_api(suite['repo_id'])}/check-suites/{suite['id']}"
        out: dict[str, Any] = {
            "id": suite["id"],
            "node_id": self.ser.node("CheckSuite", suite["id"]),
            "head_branch": suite["head_branch"],
            "head_sha": suite["head_sha"],
            "status": suite["status"],
            "conclusion": suite["conclusion"],
            "url": url,
            "before": suite["before"],
            "after": suite["after"],
            "pull_requests": self.pull_requests(suite["repo_id"], suite["head_sha"]),
            "app": self.app(suite["app"]),
            "created_at": suite["created_at"],
            "updated_at": suite["updated_at"],
        }
        if rest:
            out.update(
                repository=self.minimal_repository(suite["repo_id"]),
                head_commit=suite["head_commit"],
                latest_check_runs_count=len(latest_check_runs(self.sim.store, suite["id"])),
                check_runs_url=f"{url}/check-runs",
                rerequestable=True,
                runs_rerequestable=True,
            )
        return out

    def check_suite_event(self, suite: Doc) -> dict[str, Any]:
        full = self.check_suite(suite)
        keep = (
            "after",
            "app",
            "before",
            "check_runs_url",
            "conclusion",
            "created_at",
            "head_branch",
            "head_commit",
            "head_sha",
            "id",
            "latest_check_runs_count",
            "node_id",
            "pull_requests",
            "status",
            "updated_at",
            "url",
        )
        return {k: full[k] for k in keep}

    def check_run(self, run: Doc) -> dict[str, Any]:
        api = self.repo_api(run["repo_id"])
        suite = self.sim.store.get("check_suite", run["suite_id"])
        assert suite is not None
        output = run["output"]
        return {
            "id": run["id"],
            "node_id": self.ser.node("CheckRun", run["id"]),
            "head_sha": run["head_sha"],
            "external_id": run["external_id"],
            "url": f"{api}/check-runs/{run['id']}",
            "html_url": f"{self.repo_web(run['repo_id'])}/runs/{run['id']}",
            "details_url": run["details_url"],
            "status": run["status"],
            "conclusion": run["conclusion"],
            "started_at": run["started_at"],
            "completed_at": run["completed_at"],
            "output": {
                "title": output.get("title"),
                "summary": output.get("summary"),
                "text": output.get("text"),
                "annotations_count": 0,
                "annotations_url": f"{api}/check-runs/{run['id']}/annotations",
            },
            "name": run["name"],
            "check_suite": self.check_suite(suite, rest=False),
            "app": self.app(run["app"]),
            "pull_requests": self.pull_requests(run["repo_id"], run["head_sha"]),
        }
