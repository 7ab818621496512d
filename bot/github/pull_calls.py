"""Pull request and review calls of the installation client."""

from __future__ import annotations

from typing import cast

from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.exception import RequestFailed
from githubkit.utils import UNSET
from githubkit_schemas.latest.models import (
    Commit,
    PullRequest,
    PullRequestReview,
    PullRequestReviewComment,
    PullRequestSimple,
)

from bot.github.api import (
    DraftsNotSupported,
    PullCommit,
    PullInfo,
    Repo,
    ReviewComment,
    ReviewInfo,
)

# GitHub's whole message for a draft where the plan has none (a bare 422, no `errors`).
DRAFTS_REFUSED = "Draft pull requests are not supported"
READY_FOR_REVIEW = """
mutation($id: ID!) {
  markPullRequestReadyForReview(input: {pullRequestId: $id}) {
    pullRequest { id isDraft }
  }
}
"""


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


def _drafts_refused(exc: RequestFailed) -> bool:
    if exc.response.status_code != 422:
        return False
    try:
        message = exc.response.json().get("message", "")
    except ValueError:
        return False
    return isinstance(message, str) and message.startswith(DRAFTS_REFUSED)


def _review_comment(c: PullRequestReviewComment) -> ReviewComment:
    line = c.line if isinstance(c.line, int) else None
    author = c.user.login if c.user else ""
    return ReviewComment(c.id, c.path, line, c.diff_hunk, c.body, author)


class PullCalls:
    """Mixed into `InstallationClient`, which provides `gh`."""

    gh: GitHub[AppInstallationAuthStrategy]

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
        try:
            resp = await self.gh.rest.pulls.async_create(
                repo.owner, repo.name, head=head, base=base, title=title, body=body, draft=draft
            )
        except RequestFailed as exc:
            if draft and _drafts_refused(exc):
                raise DraftsNotSupported(str(exc)) from exc
            raise
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

    async def pull(self, repo: Repo, number: int) -> PullInfo:
        resp = await self.gh.rest.pulls.async_get(repo.owner, repo.name, number)
        return _pull_info(resp.parsed_data)

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

    async def pull_reviews(self, repo: Repo, pull: int) -> list[ReviewInfo]:
        reviews: list[ReviewInfo] = []
        r: PullRequestReview
        async for r in self.gh.rest.paginate(
            self.gh.rest.pulls.async_list_reviews,
            owner=repo.owner,
            repo=repo.name,
            pull_number=pull,
            per_page=100,
        ):
            reviews.append(ReviewInfo(r.id, r.state, r.body or "", r.user.login if r.user else ""))
        return reviews

    async def pull_commits(self, repo: Repo, pull: int) -> list[PullCommit]:
        commits: list[PullCommit] = []
        c: Commit
        async for c in self.gh.rest.paginate(
            self.gh.rest.pulls.async_list_commits,
            owner=repo.owner,
            repo=repo.name,
            pull_number=pull,
            per_page=100,
        ):
            login = getattr(c.author, "login", None) or ""
            email: str = getattr(c.commit.author, "email", None) or ""
            commits.append(PullCommit(c.sha, str(login), email, len(c.parents) > 1))
        return commits

    async def reply_to_review_comment(
        self, repo: Repo, pull: int, comment_id: int, body: str
    ) -> ReviewComment:
        resp = await self.gh.rest.pulls.async_create_reply_for_review_comment(
            repo.owner, repo.name, pull, comment_id, body=body
        )
        return _review_comment(resp.parsed_data)
