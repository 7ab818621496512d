"""Issue, comment, label, permission and repository-content calls of the installation client."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.exception import RequestFailed
from githubkit.utils import UNSET
from githubkit_schemas.latest.models import ContentFile, Issue, IssueComment

from bot.github.api import Comment, IssueInfo, Reaction, Repo, RepoInfo, effective_role


def _comment(c: IssueComment) -> Comment:
    return Comment(c.id, c.body or "", c.user.login if c.user else "", c.html_url)


def _is_not_found(exc: RequestFailed) -> bool:
    return exc.response.status_code == 404


class IssueCalls:
    """Mixed into `InstallationClient`, which provides `gh`."""

    gh: GitHub[AppInstallationAuthStrategy]

    async def installation_repos(self) -> list[Repo]:
        """Every repository the installation reaches."""
        found: list[Repo] = []
        async for r in self.gh.rest.paginate(
            self.gh.rest.apps.async_list_repos_accessible_to_installation,
            map_func=lambda resp: resp.parsed_data.repositories,
            per_page=100,
        ):
            found.append(Repo.parse(r.full_name))
        return found

    async def open_labelled_issues(self, repo: Repo, label: str) -> list[int]:
        """The numbers of open issues (not pull requests) that carry `label`."""
        found: list[int] = []
        i: Issue
        async for i in self.gh.rest.paginate(
            self.gh.rest.issues.async_list_for_repo,
            owner=repo.owner,
            repo=repo.name,
            state="open",
            labels=label,
            per_page=100,
        ):
            if not i.pull_request:
                found.append(i.number)
        return found

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
