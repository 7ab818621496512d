"""The narrow GitHub interface: value types and the Protocols handlers and runs act through.

Nothing here talks to GitHub; `bot.github.backend` implements these with githubkit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Reaction = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]


class GitHubApiError(Exception):
    """A request GitHub did not serve, after the retries its answer allowed
    (`bot.github.retry_policy`): what was asked, the status (None: no answer came) and
    GitHub's message. Never carries a token: the path and GitHub's words only."""

    def __init__(self, method: str, path: str, status: int | None, message: str) -> None:
        super().__init__(method, path, status, message)
        self.method = method
        self.path = path
        self.status = status
        self.message = message

    @property
    def what(self) -> str:
        """The request and how it ended, without GitHub's words."""
        answer = f"answered {self.status}" if self.status is not None else "got no answer"
        return f"{self.method} {self.path} {answer}"

    def __str__(self) -> str:
        return f"{self.what}: {self.message}"


class DraftsNotSupported(Exception):
    """GitHub refused a draft pull request: private repositories of accounts on Free or Pro
    have none (422 "Draft pull requests are not supported in this repository.")."""


@dataclass(frozen=True)
class Repo:
    owner: str
    name: str

    @classmethod
    def parse(cls, full_name: str) -> Repo:
        owner, _, name = full_name.partition("/")
        if not owner or not name:
            raise ValueError(f"not an owner/name repository: {full_name!r}")
        return cls(owner, name)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    author: str
    html_url: str


@dataclass(frozen=True)
class RepoInfo:
    full_name: str
    default_branch: str
    clone_url: str
    html_url: str
    private: bool


@dataclass(frozen=True)
class IssueInfo:
    number: int
    title: str
    body: str
    state: str
    labels: tuple[str, ...]
    html_url: str
    author: str
    is_pull_request: bool


@dataclass(frozen=True)
class PullInfo:
    number: int
    html_url: str
    state: str
    draft: bool
    merged: bool
    head_ref: str
    head_sha: str
    body: str
    # GraphQL's global id (mutations such as ready-for-review need it); last, so older
    # positional constructions still work.
    node_id: str = ""


@dataclass(frozen=True)
class CheckRunInfo:
    id: int
    name: str
    status: str
    conclusion: str | None
    app_slug: str
    title: str
    summary: str
    text: str
    html_url: str


@dataclass(frozen=True)
class WorkflowRunInfo:
    """An Actions workflow run of a commit: done only when `status` is completed."""

    id: int
    name: str
    status: str
    conclusion: str | None
    # Each re-run is a new attempt of the same run: the CI phase waits for the attempt after
    # the one it re-ran (bot/run/phases/ci.py).
    run_attempt: int = 1
    # Its check suite: one with no check runs after a failure means no job ever started,
    # which is how GitHub reports a workflow file it refuses.
    suite_id: int | None = None


@dataclass(frozen=True)
class CheckSuiteInfo:
    """A check suite of a commit; one without check runs is no CI (GitHub makes empty
    suites for every App that may write checks, and they stay queued)."""

    id: int
    app_slug: str
    status: str
    conclusion: str | None
    check_runs: int


@dataclass(frozen=True)
class StatusInfo:
    context: str
    state: str
    description: str
    target_url: str
    creator: str


@dataclass(frozen=True)
class JobLog:
    job_id: int
    name: str
    conclusion: str | None
    log: str


@dataclass(frozen=True)
class ReviewInfo:
    id: int
    state: str
    body: str
    author: str


@dataclass(frozen=True)
class PullCommit:
    """A commit of a pull request: who wrote it (the account's login when GitHub matched
    its email to one, else empty) and whether it merges (the base brought in)."""

    sha: str
    author_login: str
    author_email: str
    merge: bool


@dataclass(frozen=True)
class ReviewComment:
    id: int
    path: str
    line: int | None
    diff_hunk: str
    body: str
    author: str


# Job conclusions whose logs a fix needs; success, neutral and skipped need none, and
# `action_required` is a run waiting for a maintainer's approval, with no jobs and no logs.
FAILED_CONCLUSIONS = frozenset({"failure", "cancelled", "timed_out", "startup_failure", "stale"})


class GitHubClient(Protocol):
    """What handlers and runs may do on GitHub, as one installation."""

    async def permission(self, repo: Repo, login: str) -> str: ...

    async def issue_comments(self, repo: Repo, number: int) -> list[Comment]: ...

    async def create_comment(self, repo: Repo, number: int, body: str) -> Comment: ...

    async def update_comment(self, repo: Repo, comment_id: int, body: str) -> None: ...

    async def react_to_issue(self, repo: Repo, number: int, content: Reaction) -> None: ...

    async def react_to_comment(self, repo: Repo, comment_id: int, content: Reaction) -> None: ...

    async def get_comment(self, repo: Repo, comment_id: int) -> Comment | None: ...

    async def repository(self, repo: Repo) -> RepoInfo: ...

    async def issue(self, repo: Repo, number: int) -> IssueInfo: ...

    async def remove_label(self, repo: Repo, number: int, name: str) -> None: ...

    async def file_text(self, repo: Repo, path: str, ref: str | None = None) -> str | None:
        """A file's text at `ref` (the default branch if None); None if it is not a file."""
        ...

    async def find_pull(self, repo: Repo, head_branch: str) -> PullInfo | None:
        """The newest pull request, open or closed, from `head_branch` of `repo` itself."""
        ...

    async def create_pull(
        self, repo: Repo, head: str, base: str, title: str, body: str, draft: bool = True
    ) -> PullInfo:
        """DraftsNotSupported when `draft` and the repository has no drafts."""
        ...

    async def update_pull(
        self, repo: Repo, number: int, *, title: str | None = None, body: str | None = None
    ) -> None: ...

    async def push_token(self, repo: Repo) -> str:
        """An installation token for git over HTTP to `repo` (user `x-access-token`)."""
        ...

    async def pull(self, repo: Repo, number: int) -> PullInfo: ...

    async def check_runs(self, repo: Repo, sha: str) -> list[CheckRunInfo]:
        """The latest check run of each name in each suite of `sha`, newest first."""
        ...

    async def commit_statuses(self, repo: Repo, sha: str) -> list[StatusInfo]:
        """The latest commit status of each context of `sha`."""
        ...

    async def failed_job_logs(self, repo: Repo, sha: str) -> list[JobLog]:
        """Logs of the failed Actions jobs of the workflow runs for `sha`."""
        ...

    async def job_logs(self, repo: Repo, sha: str) -> list[JobLog]:
        """Logs of the Actions jobs for `sha` that ran to their end (passed or failed), a
        bounded number of them."""
        ...

    async def workflow_runs(self, repo: Repo, sha: str) -> list[WorkflowRunInfo]:
        """Every Actions workflow run for `sha` (`GET /actions/runs?head_sha=`)."""
        ...

    async def check_suites(self, repo: Repo, sha: str) -> list[CheckSuiteInfo]:
        """Every check suite of `sha`, with how many check runs each holds."""
        ...

    async def branch_sha(self, repo: Repo, branch: str) -> str | None:
        """The commit `branch` points at now; None when there is no such branch."""
        ...

    async def changed_files(self, repo: Repo, base: str, head: str) -> list[str]:
        """The paths `head` changed since it and `base` met (GitHub's compare, up to 300)."""
        ...

    async def rerun_failed_jobs(self, repo: Repo, run_id: int) -> bool:
        """Re-runs the failed jobs of a workflow run (and the jobs that need them) as a new
        attempt; False when GitHub refuses (the run has no failed jobs, is not completed, or
        the App may not re-run it)."""
        ...

    async def mark_ready_for_review(self, repo: Repo, number: int) -> None: ...

    async def review(self, repo: Repo, pull: int, review_id: int) -> ReviewInfo: ...

    async def review_comments(self, repo: Repo, pull: int, review_id: int) -> list[ReviewComment]:
        """The line comments a review holds, oldest first."""
        ...

    async def pull_reviews(self, repo: Repo, pull: int) -> list[ReviewInfo]:
        """Every review of the pull request, oldest first."""
        ...

    async def pull_commits(self, repo: Repo, pull: int) -> list[PullCommit]:
        """The pull request's commits, oldest first (GitHub lists at most 250)."""
        ...

    async def reply_to_review_comment(
        self, repo: Repo, pull: int, comment_id: int, body: str
    ) -> ReviewComment: ...


@dataclass(frozen=True)
class HookDelivery:
    """One attempt to deliver a webhook to the App (`GET /app/hook/deliveries`); a
    redelivery keeps the first one's `guid`."""

    id: int
    guid: str
    delivered_at: str
    redelivery: bool
    status_code: int
    event: str
    action: str | None
    status: str = ""  # GitHub's words: "OK", "Invalid HTTP Response: 502", "pending"…

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def pending(self) -> bool:
        return self.status.lower() == "pending"


class GitHubApp(Protocol):
    async def bot_login(self) -> str:
        """The login the App comments as, `<slug>[bot]`."""
        ...

    async def bot_identity(self) -> tuple[str, str]:
        """(name, email) GitHub attributes to the App's bot user in commits."""
        ...

    async def client(self, repo: Repo, installation_id: int | None) -> GitHubClient:
        """A client acting as the App's installation on `repo`; looked up when not given."""
        ...


def effective_role(permission: str | None, role_name: str | None) -> str:
    """GitHub reports maintain as permission=write; the role name is the finer answer."""
    if role_name in {"admin", "maintain", "write", "triage", "read"}:
        return role_name
    return permission or "none"
