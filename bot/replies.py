"""Comments the bot posts in answer to one delivery, at most once even when retried."""

from __future__ import annotations

from bot.github import GitHubClient, Repo
from bot.settings import Settings
from bot.templates import render


async def comment_once(
    gh: GitHubClient, repo: Repo, number: int, delivery_id: str, body: str
) -> None:
    marker = f"<!-- pilot:reply {delivery_id} -->"
    if any(marker in c.body for c in await gh.issue_comments(repo, number)):
        return
    await gh.create_comment(repo, number, f"{body}{marker}\n")


async def deny(
    gh: GitHubClient,
    settings: Settings,
    repo: Repo,
    number: int,
    user: str,
    delivery_id: str,
    verb: str,
) -> None:
    """Tell someone without write permission who can use the bot."""
    body = render(
        "comments/permission_denied.md.j2",
        user=user,
        repo=repo.full_name,
        verb=verb,
        label=settings.trigger_label,
        prefix=settings.command_prefix,
    )
    await comment_once(gh, repo, number, delivery_id, body)
