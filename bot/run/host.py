"""Where a run lives: its issue, its status comment, its pull request (GitHub, or a local repo)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.snapshot import IssueSnapshot
from bot.github.api import DraftsNotSupported, GitHubApp, GitHubClient, IssueInfo, Repo
from bot.github.status_comment import defang, find_status_comment
from bot.run.report import StatusReport, status_report, wip_title
from bot.run.state import RESTING_PHASES, RunState
from bot.run.state_bounds import status_body
from bot.run.status_edits import CoalescedComment
from bot.run.unreadable_state import notice, notice_key, read_state, recovered_state


@dataclass(frozen=True)
class IssueRef:
    number: int
    title: str
    body: str


@dataclass(frozen=True)
class RunTarget:
    key: str  # names the repository's mirror in the workspace cache
    remote_url: str
    base_branch: str
    issue: IssueRef
    web_url: str = ""  # the repository's page, for links; empty for a local checkout


@dataclass(frozen=True)
class IssueNow:
    """The issue as GitHub has it now: whether a run may (still) work on it."""

    open: bool
    # None where there are no labels (a local run).
    labels: tuple[str, ...] | None


@dataclass(frozen=True)
class PullRef:
    number: int
    url: str
    draft: bool = True  # False: GitHub has no drafts there, the title says `[WIP]` instead


class RunHost(Protocol):
    async def target(self) -> RunTarget: ...

    async def load_state(self) -> RunState | None: ...

    async def issue_now(self) -> IssueNow:
        """Whether the issue is open and how it is labelled, read fresh: a run starts only on
        an open issue that still asks for it."""
        ...

    async def save_state(self, state: RunState, report: StatusReport) -> None:
        """Writes the state durably, with what people read beside it."""
        ...

    async def post_once(self, key: str, body: str, number: int | None = None) -> None:
        """A comment on the issue (or on `number`, its pull request), once per `key` however
        often the run gets here."""
        ...

    async def remove_label(self, name: str) -> None: ...

    # What CI and reviewers said; a local run has neither.
    async def app_slug(self) -> str: ...

    async def check_runs(self, sha: str) -> list[Any]: ...

    async def commit_statuses(self, sha: str) -> list[Any]: ...

    async def failed_job_logs(self, sha: str) -> list[Any]: ...

    async def job_logs(self, sha: str) -> list[Any]:
        """Logs of the jobs that ran to their end, to count their tests."""
        ...

    async def workflow_runs(self, sha: str) -> list[Any]: ...

    async def check_suites(self, sha: str) -> list[Any]: ...

    async def branch_sha(self, branch: str) -> str | None:
        """The commit `branch` points at now (the base branch's CI is compared with ours)."""
        ...

    async def changed_files(self, base: str, head: str) -> list[str]:
        """The paths the run's commits changed since `base` (what a failure may be ours by)."""
        ...

    async def rerun_failed_jobs(self, run_id: int) -> bool:
        """Re-runs a workflow run's failed jobs on the same commit; False when refused."""
        ...

    async def mark_ready(self, number: int) -> None: ...

    async def review(self, number: int, review_id: int) -> Any: ...

    async def review_comments(self, number: int, review_id: int) -> list[Any]: ...

    async def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> None: ...

    async def pull_reviews(self, number: int) -> list[Any]: ...

    async def pull_commits(self, number: int) -> list[Any]: ...

    async def read_config(self, ref: str) -> str | None: ...

    async def git_token(self) -> str | None: ...

    async def author(self) -> tuple[str, str]: ...

    # Who wrote the issue, and what a login may do on the repository (whether its words may
    # steer code into CI: bot/run/hold_rule.py).
    async def issue_author(self) -> str: ...

    async def permission(self, login: str) -> str: ...

    async def open_pull(self, branch: str, base: str, title: str, body: str) -> PullRef:
        """The branch's pull request, opened as a draft when it has none (as a normal one
        titled `[WIP] …` where the repository has no drafts)."""
        ...

    async def update_pull(self, number: int, body: str) -> None: ...

    async def retitle_pull(self, number: int, title: str) -> None: ...


CONFIG_PATH = ".github/pilot.yml"


class GitHubRunHost:
    """A run on GitHub (or ghsim) as the App's installation."""

    def __init__(
        self,
        app: GitHubApp,
        gh: GitHubClient,
        repo: Repo,
        issue: int,
        edit_interval_s: float = 0.0,
        fence: Callable[[], Awaitable[None]] | None = None,
        command_prefix: str = "/pilot",
    ) -> None:
        self._app = app
        self._prefix = command_prefix
        # Checked before every write: a job that lost its run's lease writes nothing more.
        self._fence = fence
        self._gh = gh
        self._repo = repo
        self._issue = issue
        self._status_id: int | None = None
        self._planned: bool | None = None
        self._issue_read: IssueInfo | None = None
        self._status = CoalescedComment(self._write_status, edit_interval_s)
        self._target: RunTarget | None = None
        self._issue_author: str | None = None
        # The issue text the loaded state saved: a session that has it reads no issue.
        self._snapshot: IssueSnapshot | None = None

    async def _fenced(self) -> None:
        if self._fence is not None:
            await self._fence()

    async def target(self) -> RunTarget:
        if self._target is None:
            info = await self._gh.repository(self._repo)
            if self._snapshot is not None and not self._snapshot.cut:
                # The run works from its snapshot anyway (bot/run/issue_text.py); one cut
                # short is made whole from the issue, when its hash still matches.
                issue = IssueRef(self._issue, self._snapshot.title, self._snapshot.body)
            else:
                issue = await self._read_issue()
            self._target = RunTarget(
                key=self._repo.full_name,
                remote_url=info.clone_url,
                base_branch=info.default_branch,
                issue=issue,
                web_url=info.html_url,
            )
        return self._target

    async def _read_issue(self) -> IssueRef:
        issue = self._issue_read = await self._gh.issue(self._repo, self._issue)
        self._issue_author = issue.author
        return IssueRef(issue.number, issue.title, issue.body or "")

    async def issue_now(self) -> IssueNow:
        # This job's own read when it made one (a session without a snapshot reads the issue
        # first): the same moment, for one request less.
        issue = self._issue_read or await self._gh.issue(self._repo, self._issue)
        self._issue_author = issue.author
        return IssueNow(issue.state == "open", tuple(issue.labels))

    async def load_state(self) -> RunState | None:
        comments = await self._gh.issue_comments(self._repo, self._issue)
        status = find_status_comment(comments, await self._app.bot_login())
        if status is None:
            return None
        self._status_id = status.id
        state = read_state(status.body)
        if state is None:
            return await self._unreadable(status.id, status.body)
        self._snapshot = IssueSnapshot.from_dict(state.snapshot)
        return state

    async def _unreadable(self, comment_id: int, body: str) -> RunState:
        """Says once that the state block cannot be read, and writes the failed run in its
        place (bot/run/unreadable_state.py): the next job reads that, and rests."""
        state = recovered_state(body, self._issue, time.time())
        await self.post_once(notice_key(body), notice(state, self._prefix))
        await self._fenced()
        report = status_report(state, self._prefix, None)
        await self._gh.update_comment(self._repo, comment_id, status_body(state, report))
        return state

    async def save_state(self, state: RunState, report: StatusReport) -> None:
        body = status_body(state, report)
        # A run rests on an ending, a question or a wait: people see those at once. A new plan
        # is a model's work that a worker dying next would pay for again (pushed nodes are
        # found again by their commits' trailers); the rest goes out at most once an interval.
        planned = state.tree is not None
        urgent = state.phase in RESTING_PHASES or (planned and self._planned is False)
        self._planned = planned
        await self._status.submit(body, urgent=urgent)

    async def flush(self) -> None:
        """Writes a held-back status edit; the job calls it before it lets go of the run."""
        await self._status.flush()

    @property
    def unsaved(self) -> str | None:
        """The status body GitHub has not taken yet (its edit failed): kept for the next job
        (bot/run/status_outbox.py)."""
        return self._status.pending

    async def write_unsaved(self, body: str) -> None:
        """Writes a status body an earlier job could not, before anything else is saved."""
        await self._status.submit(body, urgent=True)

    async def _write_status(self, body: str) -> None:
        await self._fenced()
        if self._status_id is None:
            await self.load_state()
        if self._status_id is None:
            comment = await self._gh.create_comment(self._repo, self._issue, body)
            self._status_id = comment.id
        else:
            await self._gh.update_comment(self._repo, self._status_id, body)

    async def post_once(self, key: str, body: str, number: int | None = None) -> None:
        await self._fenced()
        where = number or self._issue
        marker = f"<!-- pilot:note {key} -->"
        login = await self._app.bot_login()
        comments = await self._gh.issue_comments(self._repo, where)
        if any(c.author == login and marker in c.body for c in comments):
            return
        await self._gh.create_comment(self._repo, where, f"{defang(body)}\n{marker}\n")

    async def remove_label(self, name: str) -> None:
        await self._fenced()
        await self._gh.remove_label(self._repo, self._issue, name)

    async def app_slug(self) -> str:
        return (await self._app.bot_login()).removesuffix("[bot]")

    async def check_runs(self, sha: str) -> list[Any]:
        return list(await self._gh.check_runs(self._repo, sha))

    async def commit_statuses(self, sha: str) -> list[Any]:
        return list(await self._gh.commit_statuses(self._repo, sha))

    async def failed_job_logs(self, sha: str) -> list[Any]:
        return list(await self._gh.failed_job_logs(self._repo, sha))

    async def job_logs(self, sha: str) -> list[Any]:
        return list(await self._gh.job_logs(self._repo, sha))

    async def workflow_runs(self, sha: str) -> list[Any]:
        return list(await self._gh.workflow_runs(self._repo, sha))

    async def check_suites(self, sha: str) -> list[Any]:
        return list(await self._gh.check_suites(self._repo, sha))

    async def branch_sha(self, branch: str) -> str | None:
        return await self._gh.branch_sha(self._repo, branch)

    async def changed_files(self, base: str, head: str) -> list[str]:
        return await self._gh.changed_files(self._repo, base, head)

    async def rerun_failed_jobs(self, run_id: int) -> bool:
        await self._fenced()
        return await self._gh.rerun_failed_jobs(self._repo, run_id)

    async def mark_ready(self, number: int) -> None:
        await self._fenced()
        await self._gh.mark_ready_for_review(self._repo, number)

    async def review(self, number: int, review_id: int) -> Any:
        return await self._gh.review(self._repo, number, review_id)

    async def review_comments(self, number: int, review_id: int) -> list[Any]:
        return list(await self._gh.review_comments(self._repo, number, review_id))

    async def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> None:
        await self._fenced()
        await self._gh.reply_to_review_comment(self._repo, number, comment_id, body)

    async def pull_reviews(self, number: int) -> list[Any]:
        return list(await self._gh.pull_reviews(self._repo, number))

    async def pull_commits(self, number: int) -> list[Any]:
        return list(await self._gh.pull_commits(self._repo, number))

    async def read_config(self, ref: str) -> str | None:
        return await self._gh.file_text(self._repo, CONFIG_PATH, ref)

    async def git_token(self) -> str | None:
        await self._fenced()
        return await self._gh.push_token(self._repo)

    async def author(self) -> tuple[str, str]:
        return await self._app.bot_identity()

    async def issue_author(self) -> str:
        if self._issue_author is None:
            await self._read_issue()
        return self._issue_author or ""

    async def permission(self, login: str) -> str:
        # A deleted author's issue shows no login (GitHub's "ghost"): no one vouches for it.
        return await self._gh.permission(self._repo, login) if login else "none"

    async def open_pull(self, branch: str, base: str, title: str, body: str) -> PullRef:
        await self._fenced()
        existing = await self._gh.find_pull(self._repo, branch)
        if existing is not None:
            return PullRef(existing.number, existing.html_url, existing.draft)
        try:
            created = await self._gh.create_pull(self._repo, branch, base, title, body)
        except DraftsNotSupported:
            created = await self._gh.create_pull(
                self._repo, branch, base, wip_title(title), body, draft=False
            )
        return PullRef(created.number, created.html_url, created.draft)

    async def retitle_pull(self, number: int, title: str) -> None:
        await self._fenced()
        await self._gh.update_pull(self._repo, number, title=title)

    async def update_pull(self, number: int, body: str) -> None:
        await self._fenced()
        await self._gh.update_pull(self._repo, number, body=body)
