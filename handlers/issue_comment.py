"""Comments on issues and pull requests: `/pilot` commands, and answers to a waiting run."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bot.core import jobs
from bot.core.events import Event, Ignore
from bot.core.hidden import strip_hidden
from bot.core.routing import Router
from bot.core.templates import render
from bot.delivery import commands
from bot.delivery.commands import Command
from bot.delivery.context import HandlerContext
from bot.delivery.permissions import may_steer
from bot.delivery.replies import ReplyClient, comment_once, deny
from bot.delivery.start_run import RunRequest, event_time, request_run
from bot.github.api import Reaction, Repo

router = Router()
log = logging.getLogger("pilot.handlers.issue_comment")


class CommentClient(ReplyClient, Protocol):
    """The GitHub calls of a comment's handling: the sender's role, the eyes on the comment;
    and the replies it posts."""

    async def permission(self, repo: Repo, login: str) -> str: ...

    async def react_to_comment(self, repo: Repo, comment_id: int, content: Reaction) -> None: ...


@dataclass(frozen=True)
class Steer:
    """An authorized person's command, to be checked and carried out."""

    command: Command
    repo: Repo
    number: int
    comment_id: int
    sender: str
    installation_id: int | None
    on_pull_request: bool
    issue_open: bool
    # What the issue said when the command came: a `run` works from this text.
    issue_title: str = ""
    issue_body: str = ""
    commented_at: str = ""

    @property
    def starts_a_run(self) -> bool:
        """`/pilot run` on an open issue; on a pull request or a closed issue it is answered."""
        return self.command.name == "run" and self.issue_open and not self.on_pull_request


@dataclass(frozen=True)
class Answer:
    """A comment without a command: the answer to a run that waits here for a person."""

    repo: Repo
    number: int
    comment_id: int
    sender: str
    installation_id: int | None
    on_pull_request: bool
    body: str


def decide_comment(event: Event, prefix: str) -> Steer | Answer | Ignore:
    payload = event.payload
    if event.sender_is_bot:
        return Ignore("sent by a bot")
    if event.repo_full_name is None:
        return Ignore("no repository in the payload")
    comment = payload.get("comment") or {}
    # What GitHub shows is what counts: a command hidden in an HTML comment is no command.
    raw = str(comment.get("body") or "")
    body = strip_hidden(raw).text
    issue = payload.get("issue") or {}
    command = commands.parse(body, prefix)
    if command is None:
        if not body.strip():
            return Ignore("empty comment")
        return Answer(
            repo=Repo.parse(event.repo_full_name),
            number=int(issue["number"]),
            comment_id=int(comment["id"]),
            sender=event.sender_login,
            installation_id=event.installation_id,
            on_pull_request=bool(issue.get("pull_request")),
            # As written: the run takes the hidden part out and counts it.
            body=raw.strip(),
        )
    return Steer(
        command=command,
        repo=Repo.parse(event.repo_full_name),
        number=int(issue["number"]),
        comment_id=int(comment["id"]),
        sender=event.sender_login,
        installation_id=event.installation_id,
        on_pull_request=bool(issue.get("pull_request")),
        issue_open=issue.get("state") == "open",
        issue_title=str(issue.get("title") or ""),
        issue_body=str(issue.get("body") or ""),
        commented_at=str(comment.get("created_at") or ""),
    )


@router.register("issue_comment", action="created")
async def on_comment_created(event: Event, ctx: HandlerContext) -> None:
    """Fires when someone comments on an issue or pull request; `/pilot` lines steer the bot."""
    decision = decide_comment(event, ctx.settings.command_prefix)
    if isinstance(decision, Ignore):
        log.debug("ignored", extra={"delivery_id": event.delivery_id, "reason": decision.reason})
        return
    if isinstance(decision, Answer):
        await answer(ctx, decision, event.delivery_id)
        return
    if decision.starts_a_run:
        request = RunRequest(
            decision.repo,
            decision.number,
            decision.sender,
            decision.installation_id,
            decision.issue_title,
            decision.issue_body,
            trigger="command",
            asked_at=event_time(decision.commented_at),
        )
        if await request_run(ctx, request, event.delivery_id):
            gh: CommentClient = await ctx.github.client(decision.repo, decision.installation_id)
            await gh.react_to_comment(decision.repo, decision.comment_id, "eyes")
        return
    await steer(ctx, decision, event.delivery_id)


async def steer(ctx: HandlerContext, decision: Steer, delivery_id: str) -> None:
    gh: CommentClient = await ctx.github.client(decision.repo, decision.installation_id)
    role = await gh.permission(decision.repo, decision.sender)
    if not may_steer(role):
        await deny(ctx, gh, decision.repo, decision.number, decision.sender, delivery_id, "steer")
        return
    command = decision.command
    if command.name == "run":
        body = render(
            "comments/run_not_here.md.j2",
            on_pull_request=decision.on_pull_request,
            prefix=ctx.settings.command_prefix,
            label=ctx.settings.trigger_label,
        )
        await comment_once(gh, decision.repo, decision.number, delivery_id, body)
        return
    if not command.known or command.name == "help":
        body = render(
            "comments/help.md.j2",
            unknown=None if command.known else command.name,
            prefix=ctx.settings.command_prefix,
            label=ctx.settings.trigger_label,
        )
        await comment_once(gh, decision.repo, decision.number, delivery_id, body)
        return
    if command.name == "stop":
        # A working run stops at its next step, before the command job gets its turn.
        await ctx.signals.request_stop(decision.repo.full_name, decision.number)
    await queue_command(ctx, gh, decision, command, delivery_id)


async def answer(ctx: HandlerContext, decision: Answer, delivery_id: str) -> None:
    """A plain comment is taken as `continue <comment>` while a run waits here for a person."""
    if not await ctx.signals.is_waiting(decision.repo.full_name, decision.number):
        log.debug("ignored", extra={"delivery_id": delivery_id, "reason": "no run waits here"})
        return
    gh: CommentClient = await ctx.github.client(decision.repo, decision.installation_id)
    role = await gh.permission(decision.repo, decision.sender)
    if not may_steer(role):
        await deny(ctx, gh, decision.repo, decision.number, decision.sender, delivery_id, "steer")
        return
    await queue_command(ctx, gh, decision, Command("continue", decision.body), delivery_id)


async def queue_command(
    ctx: HandlerContext,
    gh: CommentClient,
    decision: Steer | Answer,
    command: Command,
    delivery_id: str,
) -> None:
    await ctx.jobs.enqueue(
        jobs.RUN_COMMAND,
        jobs.command_job_id(decision.repo.full_name, decision.comment_id),
        jobs.RUN_QUEUE,
        repo=decision.repo.full_name,
        issue_number=decision.number,
        command=command.name,
        args=command.args,
        sender=decision.sender,
        installation_id=decision.installation_id,
        comment_id=decision.comment_id,
        on_pull_request=decision.on_pull_request,
        delivery_id=delivery_id,
    )
    await gh.react_to_comment(decision.repo, decision.comment_id, "eyes")
    log.info("command queued", extra={"delivery_id": delivery_id, "command": command.name})
