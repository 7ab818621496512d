"""The githubkit implementation of `bot.github.api`: App auth, installation tokens, REST calls."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

import httpx
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub
from githubkit.cache import BaseCacheStrategy
from githubkit.exception import RequestFailed
from githubkit.utils import UNSET
from githubkit_schemas.latest.models import (
    ContentFile,
    IssueComment,
    PullRequest,
    PullRequestReviewComment,
    PullRequestSimple,
    Status,
)

from bot.github.api import (
    FAILED_CONCLUSIONS,
    CheckRunInfo,
    Comment,
    IssueInfo,
    JobLog,
    PullInfo,
    Reaction,
    Repo,
    RepoInfo,
    ReviewComment,
    ReviewInfo,
    StatusInfo,
    effective_role,
)

# Pages of 100 read at most from one list; a commit with more checks than this is odd.
MAX_PAGES = 10
READY_FOR_REVIEW = """
mutation($id: ID!) {
  markPullRequestReadyForReview(input: {pullRequestId: $id}) {
    pullRequest { id isDraft }
  }
}
"""


# Refresh a push token this long before GitHub says it expires, so a push that starts
# just before expiry still has time to finish.
TOKEN_MARGIN = timedelta(minutes=5)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class InstallationTokens:
    """Installation access tokens minted as the App, one per repository, kept until near expiry.

    Scoped to one repository so a token handed to git can reach nothing else.
    """

    as_app: GitHub[AppAuthStrategy]
    installation_id: int
    clock: Callable[[], datetime] = field(default=_utcnow)
    _cache: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    async def for_repo(self, repo: Repo) -> str:
        key = repo.full_name.lower()
        cached = self._cache.get(key)
        if cached is not None and self.clock() < cached[1] - TOKEN_MARGIN:
            return cached[0]
        resp = await self.as_app.rest.apps.async_create_installation_access_token(
            self.installation_id, repositories=[repo.name]
        )
        data = resp.parsed_data
        self._cache[key] = (data.token, datetime.fromisoformat(data.expires_at))
        return data.token


def _pull_info(pull: PullRequest | PullRequestSimple) -> PullInfo:
    # The list endpoint's simple shape has no `merged`; `merged_at` is in both shapes.
    return PullInfo(
        number=pull.number,
        html_url=pull.html_url,
        state=pull.state,
        draft=bool(pull.draft),
        merged=pull.merged_at is not None,
        head_ref=pull.head.ref,
        head_sha=pull.head.sha,
        body=pull.body or "",
        node_id=pull.node_id,
    )


def _review_comment(c: PullRequestReviewComment) -> ReviewComment:
    line = c.line if isinstance(c.line, int) else None
    author = c.user.login if c.user else ""
    return ReviewComment(c.id, c.path, line, c.diff_hunk, c.body, author)


def _latest_statuses(statuses: list[Status]) -> list[StatusInfo]:
    """One per context: the newest (highest id) wins, as GitHub's combined status says."""
    latest: dict[str, Status] = {}
    for s in statuses:
        if s.context not in latest or s.id > latest[s.context].id:
            latest[s.context] = s
    return [
        StatusInfo(
            context=s.context,
            state=s.state,
            description=s.description or "",
            target_url=s.target_url or "",
            creator=s.creator.login if s.creator else "",
        )
        for s in sorted(latest.values(), key=lambda s: s.id)
    ]


def _comment(c: IssueComment) -> Comment:
    return Comment(c.id, c.body or "", c.user.login if c.user else "", c.html_url)


def _is_not_found(exc: RequestFailed) -> bool:
    return exc.response.status_code == 404


@dataclass
class InstallationClient:
    gh: GitHub[AppInstallationAuthStrategy]
    tokens: InstallationTokens

    async def permission(self, repo: Repo, login: str) -> str:
        try:
            resp = await self.gh.rest.repos.async_get_collaborator_permission_level(
                repo.owner, repo.name, login
            )
        except RequestFailed as exc:
            if exc.response.status_code == 404:
                return "none"
            raise
        data = resp.parsed_data
        return effective_role(data.permission, data.role_name)

    async def issue_comments(self, repo: Repo, number: int) -> list[Comment]:
        comments: list[Comment] = []
        c: IssueComment
        async for c in self.gh.rest.paginate(
            self.gh.rest.issues.async_list_comments,
            owner=repo.owner,
            repo=repo.name,
            issue_number=number,
            per_page=100,
        ):
            comments.append(_comment(c))
        return comments

    async def create_comment(self, repo: Repo, number: int, body: str) -> Comment:
        resp = await self.gh.rest.issues.async_create_comment(
            repo.owner, repo.name, number, body=body
        )
        return _comment(resp.parsed_data)

    async def update_comment(self, repo: Repo, comment_id: int, body: str) -> None:
        await self.gh.rest.issues.async_update_comment(repo.owner, repo.name, comment_id, body=body)

    async def react_to_issue(self, repo: Repo, number: int, content: Reaction) -> None:
        await self.gh.rest.reactions.async_create_for_issue(
            repo.owner,
            repo.name,
            number,
            content=content,
        )

    async def react_to_comment(self, repo: Repo, comment_id: int, content: Reaction) -> None:
        await self.gh.rest.reactions.async_create_for_issue_comment(
            repo.owner,
            repo.name,
            comment_id,
            content=content,
        )

    async def get_comment(self, repo: Repo, comment_id: int) -> Comment | None:
        try:
            resp = await self.gh.rest.issues.async_get_comment(repo.owner, repo.name, comment_id)
        except RequestFailed as exc:
            if _is_not_found(exc):
                return None
            raise
        return _comment(resp.parsed_data)

    async def repository(self, repo: Repo) -> RepoInfo:
        r = (await self.gh.rest.repos.async_get(repo.owner, repo.name)).parsed_data
        return RepoInfo(r.full_name, r.default_branch, r.clone_url, r.html_url, r.private)

    async def issue(self, repo: Repo, number: int) -> IssueInfo:
        i = (await self.gh.rest.issues.async_get(repo.owner, repo.name, number)).parsed_data
        labels = tuple(
            label if isinstance(label, str) else (label.name or "") for label in i.labels
        )
        return IssueInfo(
            number=i.number,
            title=i.title,
            body=i.body or "",
            state=i.state,
            labels=labels,
            html_url=i.html_url,
            author=i.user.login if i.user else "",
            is_pull_request=bool(i.pull_request),
        )

    async def remove_label(self, repo: Repo, number: int, name: str) -> None:
        if "?" in name or "#" in name:
            # githubkit's App auth re-parses the decoded request path and rejects these.
            await self._remove_label_by_setting(repo, number, name)
            return
        # githubkit puts the name into the path as is; a label may hold '/' or spaces.
        try:
            await self.gh.rest.issues.async_remove_label(
                repo.owner, repo.name, number, quote(name, safe="")
            )
        except RequestFailed as exc:
            if not _is_not_found(exc):
                raise

    async def _remove_label_by_setting(self, repo: Repo, number: int, name: str) -> None:
        # Not atomic: a label added between the read and the write would be dropped.
        labels = (await self.issue(repo, number)).labels
        kept = [label for label in labels if label.lower() != name.lower()]
        if len(kept) != len(labels):
            await self.gh.rest.issues.async_set_labels(repo.owner, repo.name, number, labels=kept)

    async def file_text(self, repo: Repo, path: str, ref: str | None = None) -> str | None:
        try:
            resp = await self.gh.rest.repos.async_get_content(
                repo.owner, repo.name, quote(path.strip("/")), ref=UNSET if ref is None else ref
            )
        except RequestFailed as exc:
            if _is_not_found(exc):
                return None
            raise
        item = resp.parsed_data
        if not isinstance(item, ContentFile):
            return None
        if item.encoding == "base64":
            data = base64.b64decode(item.content)
        else:
            # Files over 1 MB come without content; the raw media type has them.
            data = await self._raw_file(repo, path, ref)
        return data.decode("utf-8", errors="replace")

    async def _raw_file(self, repo: Repo, path: str, ref: str | None) -> bytes:
        url = f"/repos/{repo.owner}/{repo.name}/contents/{quote(path.strip('/'))}"
        params: dict[str, Any] = {} if ref is None else {"ref": ref}
        resp = await self.gh.arequest(
            "GET", url, params=params, headers={"Accept": "application/vnd.github.raw"}
        )
        return resp.content

    async def find_pull(self, repo: Repo, head_branch: str) -> PullInfo | None:
        resp = await self.gh.rest.pulls.async_list(
            repo.owner,
            repo.name,
            state="all",
            head=f"{repo.owner}:{head_branch}",
            sort="created",
            direction="desc",
            per_page=1,
        )
        # githubkit's PullsClient has a method named `list`, which mypy reads its annotation as.
        pulls = cast("list[PullRequestSimple]", resp.parsed_data)
        return _pull_info(pulls[0]) if pulls else None

    async def create_pull(
        self, repo: Repo, head: str, base: str, title: str, body: str, draft: bool = True
    ) -> PullInfo:
        resp = await self.gh.rest.pulls.async_create(
            repo.owner, repo.name, head=head, base=base, title=title, body=body, draft=draft
        )
        return _pull_info(resp.parsed_data)

    async def update_pull(
        self, repo: Repo, number: int, *, title: str | None = None, body: str | None = None
    ) -> None:
        if title is None and body is None:
            return
        await self.gh.rest.pulls.async_update(
            repo.owner,
            repo.name,
            number,
            title=UNSET if title is None else title,
            body=UNSET if body is None else body,
        )

    async def push_token(self, repo: Repo) -> str:
        return await self.tokens.for_repo(repo)

    async def pull(self, repo: Repo, number: int) -> PullInfo:
        resp = await self.gh.rest.pulls.async_get(repo.owner, repo.name, number)
        return _pull_info(resp.parsed_data)

    async def check_runs(self, repo: Repo, sha: str) -> list[CheckRunInfo]:
        # Read as JSON, not models: GitHub adds conclusions (stale, startup_failure) that
        # githubkit's models reject.
        runs: list[CheckRunInfo] = []
        for page in range(1, MAX_PAGES + 1):
            resp = await self.gh.rest.checks.async_list_for_ref(
                repo.owner, repo.name, sha, filter_="latest", per_page=100, page=page
            )
            data = resp.json()
            for run in data["check_runs"]:
                app = run.get("app")
                output = run["output"]
                runs.append(
                    CheckRunInfo(
                        id=run["id"],
                        name=run["name"],
                        status=run["status"],
                        conclusion=run.get("conclusion"),
                        app_slug=(app.get("slug") or "") if app else "",
                        title=output.get("title") or "",
                        summary=output.get("summary") or "",
                        text=output.get("text") or "",
                        html_url=run.get("html_url") or "",
                    )
                )
            if len(data["check_runs"]) < 100 or len(runs) >= data["total_count"]:
                break
        return runs

    async def commit_statuses(self, repo: Repo, sha: str) -> list[StatusInfo]:
        # The combined status endpoint names no creator; the full list (newest first) does,
        # and its newest status per context is what the combined status reports.
        statuses: list[Status] = []
        for page in range(1, MAX_PAGES + 1):
            resp = await self.gh.rest.repos.async_list_commit_statuses_for_ref(
                repo.owner, repo.name, sha, per_page=100, page=page
            )
            statuses.extend(resp.parsed_data)
            if len(resp.parsed_data) < 100:
                break
        return _latest_statuses(statuses)

    async def failed_job_logs(self, repo: Repo, sha: str) -> list[JobLog]:
        newest: dict[tuple[str, str], tuple[int, str, str | None, str]] = {}
        for page in range(1, MAX_PAGES + 1):
            resp = await self.gh.rest.actions.async_list_workflow_runs_for_repo(
                repo.owner, repo.name, head_sha=sha, per_page=100, page=page
            )
            runs = resp.json()["workflow_runs"]
            # Newest run first: when a workflow ran more than once for the commit (a push
            # and its pull request), its newest job of each name decides.
            for run in sorted(runs, key=lambda r: r["id"], reverse=True):
                for job in await self._jobs(repo, run["id"]):
                    newest.setdefault((run["path"], job[1]), job)
            if len(runs) < 100:
                break
        failed = sorted(
            (job_id, name, conclusion)
            for job_id, name, conclusion, status in newest.values()
            if status == "completed" and conclusion in FAILED_CONCLUSIONS
        )
        logs = await asyncio.gather(*(self._job_log(repo, job_id) for job_id, _, _ in failed))
        return [
            JobLog(job_id, name, conclusion, log)
            for (job_id, name, conclusion), log in zip(failed, logs, strict=True)
        ]

    async def _jobs(self, repo: Repo, run_id: int) -> list[tuple[int, str, str | None, str]]:
        """(id, name, conclusion, status) of the latest attempt's jobs of a workflow run."""
        found: list[tuple[int, str, str | None, str]] = []
        for page in range(1, MAX_PAGES + 1):
            resp = await self.gh.rest.actions.async_list_jobs_for_workflow_run(
                repo.owner, repo.name, run_id, filter_="latest", per_page=100, page=page
            )
            jobs = resp.json()["jobs"]
            found.extend((j["id"], j["name"], j.get("conclusion"), j["status"]) for j in jobs)
            if len(jobs) < 100:
                break
        return found

    async def _job_log(self, repo: Repo, job_id: int) -> str:
        # A redirect to a short-lived URL, which githubkit follows (httpx drops the token
        # when the URL is on another host, as GitHub's storage wants).
        try:
            resp = await self.gh.rest.actions.async_download_job_logs_for_workflow_run(
                repo.owner, repo.name, job_id
            )
        except RequestFailed as exc:
            if exc.response.status_code in (404, 410):
                return ""  # expired or deleted logs
            raise
        return resp.content.decode("utf-8", errors="replace")

    async def mark_ready_for_review(self, repo: Repo, number: int) -> None:
        pull = await self.pull(repo, number)
        if not pull.draft:
            return
        await self.gh.async_graphql(READY_FOR_REVIEW, {"id": pull.node_id})

    async def review(self, repo: Repo, pull: int, review_id: int) -> ReviewInfo:
        resp = await self.gh.rest.pulls.async_get_review(repo.owner, repo.name, pull, review_id)
        r = resp.parsed_data
        return ReviewInfo(r.id, r.state, r.body or "", r.user.login if r.user else "")

    async def review_comments(self, repo: Repo, pull: int, review_id: int) -> list[ReviewComment]:
        # The pull's list filtered by review: the same answer as the per-review list, which
        # ghsim does not serve.
        comments: list[ReviewComment] = []
        c: PullRequestReviewComment
        async for c in self.gh.rest.paginate(
            self.gh.rest.pulls.async_list_review_comments,
            owner=repo.owner,
            repo=repo.name,
            pull_number=pull,
            sort="created",
            direction="asc",
            per_page=100,
        ):
            if c.pull_request_review_id == review_id:
                comments.append(_review_comment(c))
        return comments

    async def reply_to_review_comment(
        self, repo: Repo, pull: int, comment_id: int, body: str
    ) -> ReviewComment:
        resp = await self.gh.rest.pulls.async_create_reply_for_review_comment(
            repo.owner, repo.name, pull, comment_id, body=body
        )
        return _review_comment(resp.parsed_data)


class SharedTransport(httpx.AsyncBaseTransport):
    """Lends one connection pool to many short-lived clients.

    githubkit opens and closes an httpx client per request; closing a client closes its
    transport, which would cut every other request in flight on a shared pool.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Left open for the other borrowers; the owner closes `close_pool`."""

    async def close_pool(self) -> None:
        await self._inner.aclose()


@dataclass
class GitHubKitApp:
    """An App identity; installation clients share one connection pool and token cache."""

    app_id: int
    private_key: str
    base_url: str
    transport: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)
    cache_strategy: BaseCacheStrategy | None = None
    auto_retry: bool = True
    _clients: dict[int, InstallationClient] = field(default_factory=dict)
    _installations: dict[str, int] = field(default_factory=dict)
    _bot_login: str | None = None
    _bot_identity: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self._shared = SharedTransport(self.transport)
        self._as_app = self._github(AppAuthStrategy(self.app_id, self.private_key))

    def _github(self, auth: AppAuthStrategy | AppInstallationAuthStrategy) -> GitHub:  # type: ignore[type-arg]
        return GitHub(
            auth,
            base_url=self.base_url.rstrip("/") + "/",
            async_transport=self._shared,
            cache_strategy=self.cache_strategy,
            auto_retry=self.auto_retry,
            user_agent="issue-pilot",
        )

    async def bot_login(self) -> str:
        if self._bot_login is None:
            data = (await self._as_app.rest.apps.async_get_authenticated()).parsed_data
            if data is None:
                raise RuntimeError("GET /app answered no App")
            self._bot_login = f"{data.slug}[bot]"
        return self._bot_login

    async def bot_identity(self) -> tuple[str, str]:
        if self._bot_identity is None:
            login = await self.bot_login()
            # An App's JWT may only call /app endpoints, so an installation asks for the user.
            gh = (await self._any_installation()).gh
            user = (await gh.rest.users.async_get_by_username(login)).parsed_data
            self._bot_identity = (login, f"{user.id}+{login}@users.noreply.github.com")
        return self._bot_identity

    async def _any_installation(self) -> InstallationClient:
        for client in self._clients.values():
            return client
        resp = await self._as_app.rest.apps.async_list_installations(per_page=1)
        if not resp.parsed_data:
            raise RuntimeError("the App has no installation to look its bot user up with")
        return self.for_installation(resp.parsed_data[0].id)

    async def client(self, repo: Repo, installation_id: int | None) -> InstallationClient:
        if installation_id is None:
            installation_id = await self._installation_of(repo)
        return self.for_installation(installation_id)

    async def _installation_of(self, repo: Repo) -> int:
        # Deliveries to an App always name the installation; repository webhooks do not.
        cached = self._installations.get(repo.full_name)
        if cached is None:
            resp = await self._as_app.rest.apps.async_get_repo_installation(repo.owner, repo.name)
            cached = self._installations[repo.full_name] = resp.parsed_data.id
        return cached

    def for_installation(self, installation_id: int) -> InstallationClient:
        client = self._clients.get(installation_id)
        if client is None:
            auth = AppInstallationAuthStrategy(self.app_id, self.private_key, installation_id)
            tokens = InstallationTokens(self._as_app, installation_id)
            client = InstallationClient(self._github(auth), tokens)
            self._clients[installation_id] = client
        return client

    async def aclose(self) -> None:
        await self._shared.close_pool()
