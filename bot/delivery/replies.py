"""Comments the bot posts in answer to one delivery, at most once even when retried."""

from __future__ import annotations

from typing import Protocol

from bot.core.templates import render
from bot.delivery.context import HandlerContext
from bot.github.api import Comment, Repo


class ReplyClient(Protocol):
    """The GitHub calls a reply makes: read an issue's comments, post one."""

    async def issue_comments(self, repo: Repo, number: int) -> list[Comment]: ...

    async def create_comment(self, repo: Repo, number: int, body: str) -> Comment: ...


async def comment_once(
    gh: ReplyClient, repo: Repo, number: int, delivery_id: str, body: str
) -> None:
    marker = f"<!-- pilot:reply {delivery_id} -->"
    if any(marker in c.body for c in await gh.issue_comments(repo, number)):
        return
    await gh.create_comment(repo, number, f"{body}{marker}\n")


# Someone without write access gets one explanation per issue this often, however many
# times they label or comment: each answer costs the installation's API quota.
DENIAL_INTERVAL_S = 3600


async def deny(
    ctx: HandlerContext,
    gh: ReplyClient,
    repo: Repo,
    number: int,
    user: str,
    delivery_id: str,
    verb: str,
) -> None:
    """Tell someone without write permission who can use the bot, at most once an hour."""
    key = f"denied:{repo.full_name}#{number}:{user.lower()}"
    if not await ctx.coordination.once(key, delivery_id, DENIAL_INTERVAL_S):
        return
    settings = ctx.settings
    body = render(
        "comments/permission_denied.md.j2",
        user=user,
        repo=repo.full_name,
        verb=verb,
        label=settings.trigger_label,
        prefix=settings.command_prefix,
    )
    await comment_once(gh, repo, number, delivery_id, body)
