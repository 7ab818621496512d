"""People's `/pilot` commands on a run, one function each in COMMANDS. A new command is a
function here and a row in the table, its name in `KNOWN` (bot/delivery/commands.py, which
parses comments) and a line in prompts/comments/help.md.j2; handlers/issue_comment.py queues
any known command to the run as it is."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.agent.requirements import NodeStatus, RequirementTree
from bot.core.hidden import strip_hidden
from bot.run.hold_rule import is_held
from bot.run.kernel import Run
from bot.run.phases.ci import CiHost, evidence, fix_ci, on_ci, ready
from bot.run.phases.edits import approve_edit, go_on_after_edit
from bot.run.phases.hold import approve_held
from bot.run.phases.pull_request import await_ci
from bot.run.phases.review import ReviewHost, on_review
from bot.run.phases.start import StartHost, start
from bot.run.phases.test_guard import GUARD_NODE, confirm, restore_node, restore_notes
from bot.run.phases.work import iterate
from bot.run.state import Phase, RunState


class CommandsHost(StartHost, CiHost, ReviewHost, Protocol):
    """A command can move the run into any phase, so it makes any phase's calls."""


@dataclass(frozen=True)
class Said:
    """One command as a person wrote it, and how to answer them where they wrote it."""

    name: str
    sender: str
    args: str
    reply: Callable[[str], Awaitable[None]]


Command = Callable[[Run[CommandsHost], RunState, Said], Awaitable[None]]


async def on_command(run: Run[CommandsHost], state: RunState, event: dict[str, Any]) -> None:
    comment_id = int(event.get("comment_id") or 0)
    number = int(event.get("number") or state.issue)
    key = f"cmd:{comment_id}"
    if key in state.handled:
        return
    state.mark_handled(key)

    async def reply(body: str) -> None:
        await run.host.post_once(f"cmd-{comment_id}", body, number)

    # An answer reaches the agent as people read it on GitHub, nothing hidden in it.
    args = strip_hidden(str(event.get("args") or ""))
    state.hidden_ignored += args.fragments
    said = Said(str(event.get("name")), str(event.get("sender")), args.text, reply)
    if not run.config.allows(said.sender):
        await reply(
            f"@{said.sender} is not in `allowed_users` of `.github/pilot.yml`; nothing done."
        )
        await run.save(state, state.phase)
        return
    command = COMMANDS.get(said.name)
    if command is None:
        await run.save(state, state.phase)
        return
    await command(run, state, said)


async def status(run: Run[CommandsHost], state: RunState, said: Said) -> None:
    report = run.report(state)
    facts = "\n".join(f"- {fact}" for fact in report.facts)
    await said.reply(f"{report.headline}\n\n{report.checklist}\n\n{facts}".strip())
    await run.save(state, state.phase)


async def stop(run: Run[CommandsHost], state: RunState, said: Said) -> None:
    await said.reply(f"Stopped, as @{said.sender} asked. The branch and pull request stay.")
    await run.stop(state, f"stopped by @{said.sender}")


async def approve(run: Run[CommandsHost], state: RunState, said: Said) -> None:
    if state.phase is Phase.WAIT_EDIT:
        await said.reply(approve_edit(run, state, said.sender))
        await go_on_after_edit(run, state)
        return
    if is_held(state) and state.phase is not Phase.WAIT_APPROVAL:
        await approve_held_work(run, state, said)
        return
    if state.phase is not Phase.WAIT_APPROVAL:
        await said.reply("No plan waits for approval.")
        await run.save(state, state.phase)
        return
    state.approved = True
    await said.reply(f"Plan approved by @{said.sender}; starting.")
    await start(run, state)


async def approve_held_work(run: Run[CommandsHost], state: RunState, said: Said) -> None:
    """`approve` of work held off the branch (bot/run/phases/hold.py)."""
    await said.reply(await approve_held(run, state, said.sender, said.args))


async def go_on(run: Run[CommandsHost], state: RunState, said: Said) -> None:
    """`continue` (with an answer to the question asked) and `retry` (a fresh budget): the
    parked phase goes on where it stopped."""
    name, answer = said.name, said.args.strip()
    parked = state.parked or {}
    kind = parked.get("kind")
    if name == "continue" and state.phase is not Phase.ASKED:
        await said.reply("Nothing waits for an answer right now.")
        await run.save(state, state.phase)
        return
    if name == "retry":
        if state.phase not in (Phase.ASKED, Phase.FAILED, Phase.STOPPED):
            await said.reply("Nothing to retry: the run is not stuck.")
            await run.save(state, state.phase)
            return
        attempts = retry_attempts(answer)
        if attempts == 0:
            await said.reply("`attempts=N` takes a number from 1 to 5; nothing retried.")
            await run.save(state, state.phase)
            return
        state.attempts = attempts or state.attempts
        answer = re.sub(r"\battempts=\S*", "", answer).strip()
        state.token_base = state.prompt_tokens + state.completion_tokens
        state.outcome = None
    await said.reply(
        f"Going on with @{said.sender}'s answer."
        if name == "continue"
        else "Retrying this phase with a fresh budget."
    )
    node_id = str(parked.get("node") or "")
    await run.resume(state)
    if kind == "tests":
        await go_on_tests(run, state, said, answer, node_id == GUARD_NODE.id)
        return
    if kind == "ci":
        if name == "retry":
            state.ci_attempt = max(0, state.ci_attempt - run.config.max_ci_attempts)
            state.ci_extra = 0
        else:
            state.ci_extra += 1
        sha = state.ci_sha or ""
        last = state.ci_history[-1]["names"] if state.ci_history else []
        state.phase = Phase.AWAIT_CI
        notes = await (await evidence(run.host, sha)).failure_notes(run.host)
        await fix_ci(run, state, sha, notes, list(last), answer if name == "continue" else None)
        return
    if kind == "review":
        review_id = node_id.removeprefix("review-")
        state.handled = [h for h in state.handled if h != f"review:{review_id}"]
        if answer:
            state.answers.setdefault(node_id, []).append(f"A person answered: {answer}")
        state.phase = Phase.AWAIT_CI
        await on_review(run, state, {"review_id": review_id, "pull": state.pr_number})
        return
    # A node of the tree, or a failure before any pull request: the start path goes on.
    if node_id and answer:
        state.answers.setdefault(node_id, []).append(f"A person answered: {answer}")
    if state.tree is not None:
        tree = RequirementTree.from_state(state.tree)
        for node in tree.nodes:
            if node.status is NodeStatus.BLOCKED:
                node.status = NodeStatus.PENDING
        state.tree = tree.to_state()
    if (
        state.pr_number is not None
        and state.tree is not None
        and all(n.get("status") == NodeStatus.DONE for n in state.tree)
    ):
        await await_ci(run, state)
        await on_ci(run, state, state.ci_sha or "", force=True)
        return
    await start(run, state)


async def go_on_tests(
    run: Run[CommandsHost], state: RunState, said: Said, answer: str, to_guard: bool
) -> None:
    """The answer to a question about the tests: to the guard's before `ready`
    (phases/test_guard.py, `to_guard`), `continue` alone marks the pull request ready as it
    is; anything else (or a question the agent asked while putting the tests back) has the
    agent put them back, with the answer as its hint, and CI judges again."""
    sha = state.ci_sha or state.head_sha or ""
    if to_guard and said.name == "continue" and not answer:
        await ready(run, state, sha, confirm(state, said.sender))
        return
    notes = await restore_notes(run, state)
    node = restore_node(state)
    if answer:
        notes.insert(0, f"A person answered: {answer}")
    if await iterate(run, state, node, notes, "tests"):
        await await_ci(run, state)
        return
    # Nothing changed: the guard says again what it found, and asks again.
    await ready(run, state, sha, str((state.test_guard or {}).get("how") or "CI passed"))


def retry_attempts(args: str) -> int | None:
    """N of `retry attempts=N` (candidates per requirement from then on, 1 to 5); None when
    not given, 0 when given but not such a number."""
    found = re.search(r"\battempts=(\S*)", args)
    if found is None:
        return None
    value = found.group(1)
    return int(value) if value.isdigit() and 1 <= int(value) <= 5 else 0


COMMANDS: dict[str, Command] = {
    "status": status,
    "stop": stop,
    "approve": approve,
    "continue": go_on,
    "retry": go_on,
}
