"""The narrow GitHub interface the bot uses, and its githubkit implementation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import httpx
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub
from githubkit.cache import BaseCacheStrategy
from githubkit.exception import RequestFailed
from githubkit_schemas.latest.models import IssueComment

Reaction = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]


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


class GitHubClient(Protocol):
    """What handlers may do on GitHub, as one installation."""

    async def permission(self, repo: Repo, login: str) -> str: ...

    async def issue_comments(self, repo: Repo, number: int) -> list[Comment]: ...

    async def create_comment(self, repo: Repo, number: int, body: str) -> Comment: ...

    async def update_comment(self, repo: Repo, comment_id: int, body: str) -> None: ...

    async def react_to_issue(self, repo: Repo, number: int, content: Reaction) -> None: ...

    async def react_to_comment(self, repo: Repo, comment_id: int, content: Reaction) -> None: ...


class GitHubApp(Protocol):
    async def bot_login(self) -> str:
        """The login the App comments as, `<slug>[bot]`."""
        ...

    async def client(self, repo: Repo, installation_id: int | None) -> GitHubClient:
        """A client acting as the App's installation on `repo`; looked up when not given."""
        ...


def effective_role(permission: str | None, role_name: str | None) -> str:
    """GitHub reports maintain as permission=write; the role name is the finer answer."""
    if role_name in {"admin", "maintain", "write", "triage", "read"}:
        return role_name
    return permission or "none"


@dataclass
class InstallationClient:
    gh: GitHub[AppInstallationAuthStrategy]

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
            author: str = c.user.login if c.user else ""
            comments.append(Comment(c.id, c.body or "", author, c.html_url))
        return comments

    async def create_comment(self, repo: Repo, number: int, body: str) -> Comment:
        resp = await self.gh.rest.issues.async_create_comment(
            repo.owner, repo.name, number, body=body
        )
        c = resp.parsed_data
        return Comment(c.id, c.body or "", c.user.login if c.user else "", c.html_url)

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
            client = InstallationClient(self._github(auth))
            self._clients[installation_id] = client
        return client

    async def aclose(self) -> None:
        await self._shared.close_pool()
