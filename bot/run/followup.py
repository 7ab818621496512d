"""After the pull request: CI as VERIFY, fixes within a budget, reviews, people's commands,
and how a run ends. Each handler is a deterministic step from the saved state."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.agent.requirements import NodeStatus, Requirement, RequirementTree
from bot.core.inert import neutralise
from bot.core.templates import render
from bot.core.text import cut
from bot.github.ci_report import CiVerdict, failure_notes, verdict
from bot.github.workspace import Checkout
from bot.run.controller import Controller, Parked, WorkItem
from bot.run.report import pull_request_body
from bot.run.state import FINAL_PHASES, LocalCheck, Phase, RunState

log = logging.getLogger("pilot.followup")


async def handle(c: Controller, state: RunState, event: dict[str, Any]) -> None:
    kind = event.get("kind")
    stopping = kind in ("stop", "pull_closed") or (
        kind == "command" and event.get("name") == "stop"
    )
    if state.phase in FINAL_PHASES:
        if kind == "command" and event.get("name") == "status":
            await on_command(c, state, event)
            return
        c.record(kind="ignored", event=event, why=f"run already {state.phase.value}")
        return
    if state.working is not None and state.phase is Phase.EXECUTE and not stopping:
        await _finish_interrupted(c, state)
    if kind == "ci":
        await on_ci(c, state, str(event["sha"]))
    elif kind == "ci_timeout":
        await on_ci_timeout(c, state, str(event["sha"]))
    elif kind == "review":
        await on_review(c, state, event)
    elif kind == "pull_closed":
        await on_pull_closed(c, state, bool(event.get("merged")))
    elif kind == "stop":
        if state.phase is not Phase.STOPPED:
            await c.stop(state, str(event.get("reason") or "stopped"))
    elif kind == "command":
        await on_command(c, state, event)
    else:
        c.record(kind="ignored", event=event, why="unknown event")


# CI --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CiEvidence:
    """What CI reported for one sha, and the verdict on it."""

    sha: str
    verdict: CiVerdict
    runs: list[Any]
    statuses: list[Any]

    async def failure_notes(self, c: Controller) -> list[str]:
        """The failures as the fix agent reads them; only the job logs are fetched here."""
        logs = await c.host.failed_job_logs(self.sha)
        return failure_notes(self.verdict, self.runs, logs, 8000, statuses=self.statuses)


async def _evidence(c: Controller, sha: str) -> CiEvidence:
    runs = await c.host.check_runs(sha)
    statuses = await c.host.commit_statuses(sha)
    return CiEvidence(sha, verdict(runs, statuses, await c.host.app_slug()), runs, statuses)


async def on_ci(c: Controller, state: RunState, sha: str, force: bool = False) -> None:
    if state.phase is not Phase.AWAIT_CI or sha != state.ci_sha:
        c.record(kind="ignored", ci_sha=sha, why="not the head CI is awaited on")
        return
    key = f"ci:{sha}"
    if key in state.handled and not force:
        return
    evidence = await _evidence(c, sha)
    result = evidence.verdict
    c.record(kind="ci", sha=sha, state=result.state, failing=result.failing)
    if result.state in ("pending", "none"):
        return
    state.mark_handled(key)
    await c.deps.metrics.ci_result(result.state, "ci")
    if not state.ci_history or state.ci_history[-1]["sha"] != sha:
        entry = {"sha": sha, "failing": len(result.failing), "names": result.failing}
        state.ci_history.append(entry)
    if result.state == "green":
        await ready(c, state, sha, f"CI passed on `{sha[:7]}`: " + ", ".join(result.passing))
        return
    await fix_ci(c, state, sha, await evidence.failure_notes(c), result.failing)


def _best(state: RunState) -> str | None:
    """The commit with the fewest failing checks so far; the earliest among equals."""
    if not state.ci_history:
        return None
    return str(min(state.ci_history, key=lambda h: int(h["failing"]))["sha"])


async def fix_ci(
    c: Controller,
    state: RunState,
    sha: str,
    notes: list[str],
    failing: list[str],
    answer: str | None = None,
) -> None:
    limit = c.config.max_ci_attempts + state.ci_extra
    state.best_sha = _best(state)
    node = Requirement(
        id=f"ci-{state.iterations + 1}",
        title=f"Make CI pass (attempt {state.ci_attempt + 1} of {limit})",
        description="The repository's CI failed on the branch; the failures are in the notes.",
        acceptance=[f"`{name}` passes" for name in failing[:8]] or ["CI passes"],
    )
    if state.ci_attempt >= limit:
        tried = ", ".join(f"`{h['sha'][:7]}` ({h['failing']} failing)" for h in state.ci_history)
        await c.ask(
            state,
            node,
            f"CI still fails after {state.ci_attempt} of {limit} attempts ({tried}).",
            "Failing: " + ", ".join(failing[:8]) + ". How should I go on? Answer with "
            f"`{c.deps.command_prefix} continue <hint>` (one more attempt with your hint) or "
            f"`{c.deps.command_prefix} retry` (a fresh budget).",
            "ci",
        )
        return
    history = state.ci_history
    restore_to = None
    if len(history) >= 2 and history[-1]["failing"] > history[-2]["failing"]:
        restore_to = state.best_sha if state.best_sha != sha else None
    notes = [*([f"A person answered: {answer}"] if answer else []), *notes]
    if restore_to:
        notes.insert(
            0,
            f"The last attempt made more checks fail; the branch was brought back "
            f"to the files of `{restore_to[:7]}`, the best so far.",
        )
    await c.save(state, Phase.EXECUTE)
    if not await iterate(c, state, node, notes, "ci", restore_to):
        await c.ask(
            state,
            node,
            "The fix attempt changed nothing, so CI would fail the same way.",
            "What is wrong with the failing checks: " + ", ".join(failing[:8]) + "?",
            "ci",
        )
        return
    await c.await_ci(state)


async def ready(c: Controller, state: RunState, sha: str, how: str) -> None:
    assert state.pr_number is not None and c.target is not None
    await c.host.mark_ready(state.pr_number)
    await c.resume(state)
    summary = f"Issue Pilot's work on #{state.issue}: {neutralise(c.target.issue.title)}\n\n{how}."
    await c.host.update_pull(
        state.pr_number, pull_request_body(state, summary, c.config.max_tokens)
    )
    body = render(
        "comments/run_ready.md.j2",
        requested_by=state.requested_by,
        how=how,
        attempts=state.ci_attempt,
        tokens=state.prompt_tokens + state.completion_tokens,
    )
    await c.host.post_once(f"ready-{sha}", body, state.pr_number)
    await c.save(state, Phase.READY)


async def on_ci_timeout(c: Controller, state: RunState, sha: str) -> None:
    if state.phase is not Phase.AWAIT_CI or sha != state.ci_sha:
        return
    if (await _evidence(c, sha)).verdict.state != "none":
        return  # CI reported; its own events carry on
    minutes = round(c.deps.ci_timeout_s / 60, 1)
    if not c.config.test:
        await ready(
            c,
            state,
            sha,
            f"No CI reported within {minutes} min of the push, and "
            "no `test` command is configured to run instead",
        )
        return
    async with c.checkout(state) as checkout:
        local = await local_check(c, state, checkout)
    state.mark_handled(f"ci:{sha}")
    await c.deps.metrics.ci_result("green" if local.passed else "red", "sandbox")
    how = (
        f"No CI reported within {minutes} min of the push; the sandbox ran "
        f"`{local.command}` instead"
    )
    if local.passed:
        await ready(c, state, sha, how + " and it passed")
        return
    state.ci_history.append({"sha": sha, "failing": 1, "names": [local.command]})
    await c.host.post_once(f"fallback-{sha}", how + ", and it failed.", state.pr_number)
    notes = [f"$ {local.command} (exit {local.exit_code})\n{local.output_tail}"]
    await fix_ci(c, state, sha, notes, [local.command])


async def local_check(c: Controller, state: RunState, checkout: Checkout) -> LocalCheck:
    from bot.sandbox.api import SandboxSpec

    assert c.config.test
    spec = SandboxSpec(c.run_id, c.config.image or c.deps.sandbox_image)
    async with c.sandbox_session(spec, checkout) as session:
        async with session.phase("check") as sandbox:
            result = await sandbox.run(c.config.test)
    state.check = LocalCheck.of(c.config.test, result)
    return state.check


# working on a follow-up ------------------------------------------------------------------------
async def iterate(
    c: Controller,
    state: RunState,
    node: Requirement,
    notes: list[str],
    park_as: str,
    restore_to: str | None = None,
) -> bool:
    """One agent pass on the branch's head; True when it pushed a commit. Recorded in the
    state first, so a worker that dies during it does it again, not twice."""
    if node.id.startswith("ci-"):
        state.iterations = max(state.iterations, _number(node.id))
    state.working = {
        "node": node.id,
        "title": node.title,
        "description": node.description,
        "acceptance": node.acceptance,
        "notes": notes,
        "park_as": park_as,
        "restore_to": restore_to,
    }
    await c.save(state, Phase.EXECUTE)
    assert c.target is not None
    async with c.checkout(state) as checkout:
        done = {t.get("Pilot-Node") for t in await checkout.trailers_on_branch()}
        if node.id in done:
            state.head_sha = checkout.head_sha
            state.working = None
            return True
        author = await c.host.author()
        pushed = False
        if restore_to and f"{node.id}-restore" not in done:
            trailers = [("Pilot-Issue", f"#{state.issue}"), ("Pilot-Node", f"{node.id}-restore")]
            message = f"Go back to the files of {restore_to[:7]}, the best CI result so far"
            if await checkout.restore(restore_to, message, trailers, author):
                await checkout.push(await c.host.git_token())
                state.head_sha = checkout.head_sha
                pushed = True
        items = [WorkItem(node, notes, park_as)]
        if await c.work(state, checkout, lambda: items.pop() if items else None, None):
            pushed = True
    state.working = None
    return pushed


async def _finish_interrupted(c: Controller, state: RunState) -> None:
    work = state.working or {}
    node = Requirement(
        id=str(work.get("node")),
        title=str(work.get("title")),
        description=str(work.get("description") or ""),
        acceptance=list(work.get("acceptance") or []),
    )
    c.record(kind="resume", node=node.id)
    pushed = await iterate(
        c,
        state,
        node,
        list(work.get("notes") or []),
        str(work.get("park_as") or "ci"),
        work.get("restore_to"),
    )
    if pushed and node.id.startswith("review-") and state.pr_number is not None:
        comments = await c.host.review_comments(state.pr_number, _number(node.id))
        await _review_addressed(c, state, comments)
    elif pushed:
        await c.await_ci(state)
    else:
        await c.ask(
            state,
            node,
            "The interrupted attempt changed nothing.",
            "How should I go on?",
            str(work.get("park_as") or "ci"),
        )
        raise Parked


# reviews ---------------------------------------------------------------------------------------
async def on_review(c: Controller, state: RunState, event: dict[str, Any]) -> None:
    review_id = int(event["review_id"])
    key = f"review:{review_id}"
    if key in state.handled or state.pr_number is None or event.get("pull") != state.pr_number:
        return
    if state.phase not in (Phase.AWAIT_CI, Phase.READY, Phase.ASKED):
        return
    review = await c.host.review(state.pr_number, review_id)
    if not c.config.allows(review.author):
        state.mark_handled(key)
        c.record(kind="ignored", review=review_id, why="reviewer not in allowed_users")
        await c.save(state, state.phase)
        return
    comments = await c.host.review_comments(state.pr_number, review_id)
    notes = [f"@{review.author} reviewed ({review.state}): {review.body or '(no summary)'}"]
    for comment in comments:
        notes.append(
            f"Line comment {comment.id} on `{comment.path}` line {comment.line}:\n"
            f"```diff\n{cut(comment.diff_hunk, 1500)}\n```\n{comment.body}"
        )
    node = Requirement(
        id=f"review-{review_id}",
        title=f"Address @{review.author}'s review",
        description="A reviewer asked for changes; the review and each line comment are in "
        "the notes. Address every one.",
        acceptance=["every review comment is addressed"],
    )
    state.mark_handled(key)
    await c.resume(state)
    if not await iterate(c, state, node, notes, "review"):
        await c.ask(
            state, node, "The review needs no change I can see.", "What should change?", "review"
        )
        return
    await _review_addressed(c, state, comments)


async def _review_addressed(c: Controller, state: RunState, comments: list[Any]) -> None:
    assert state.pr_number is not None
    sha = state.head_sha or ""
    for comment in comments:
        await c.host.reply_to_review_comment(state.pr_number, comment.id, f"Addressed in {sha}.")
    state.ci_attempt = 0  # a reviewed change starts a fresh CI budget
    state.ci_history = []
    await c.await_ci(state)


# endings ---------------------------------------------------------------------------------------
async def on_pull_closed(c: Controller, state: RunState, merged: bool) -> None:
    state.outcome = "success" if merged else "rejected"
    c.record(kind="outcome", outcome=state.outcome, pr=state.pr_number)
    await c.resume(state)
    await c.save(state, Phase.MERGED if merged else Phase.CLOSED)


# people's commands -----------------------------------------------------------------------------
async def on_command(c: Controller, state: RunState, event: dict[str, Any]) -> None:
    name = str(event.get("name"))
    sender = str(event.get("sender"))
    comment_id = int(event.get("comment_id") or 0)
    number = int(event.get("number") or state.issue)
    key = f"cmd:{comment_id}"
    if key in state.handled:
        return
    state.mark_handled(key)

    async def reply(body: str) -> None:
        await c.host.post_once(f"cmd-{comment_id}", body, number)

    if not c.config.allows(sender):
        await reply(f"@{sender} is not in `allowed_users` of `.github/pilot.yml`; nothing done.")
        await c.save(state, state.phase)
        return
    if name == "status":
        report = c.report(state)
        facts = "\n".join(f"- {fact}" for fact in report.facts)
        await reply(f"{report.headline}\n\n{report.checklist}\n\n{facts}".strip())
        await c.save(state, state.phase)
        return
    if name == "stop":
        await reply(f"Stopped, as @{sender} asked. The branch and pull request stay.")
        await c.stop(state, f"stopped by @{sender}")
        return
    if name == "approve":
        if state.phase is not Phase.WAIT_APPROVAL:
            await reply("No plan waits for approval.")
            await c.save(state, state.phase)
            return
        state.approved = True
        await reply(f"Plan approved by @{sender}; starting.")
        await c._start(state)
        return
    if name in ("continue", "retry"):
        await _go_on(c, state, name, str(event.get("args") or "").strip(), sender, reply)
        return
    await c.save(state, state.phase)


async def _go_on(
    c: Controller, state: RunState, name: str, answer: str, sender: str, reply: Any
) -> None:
    parked = state.parked or {}
    kind = parked.get("kind")
    if name == "continue" and state.phase is not Phase.ASKED:
        await reply("Nothing waits for an answer right now.")
        await c.save(state, state.phase)
        return
    if name == "retry":
        state.token_base = state.prompt_tokens + state.completion_tokens
        state.outcome = None
        if state.phase not in (Phase.ASKED, Phase.FAILED, Phase.STOPPED):
            await reply("Nothing to retry: the run is not stuck.")
            await c.save(state, state.phase)
            return
    await reply(
        f"Going on with @{sender}'s answer."
        if name == "continue"
        else "Retrying this phase with a fresh budget."
    )
    node_id = str(parked.get("node") or "")
    await c.resume(state)
    if kind == "ci":
        if name == "retry":
            state.ci_attempt = max(0, state.ci_attempt - c.config.max_ci_attempts)
            state.ci_extra = 0
        else:
            state.ci_extra += 1
        sha = state.ci_sha or ""
        last = state.ci_history[-1]["names"] if state.ci_history else []
        state.phase = Phase.AWAIT_CI
        notes = await (await _evidence(c, sha)).failure_notes(c)
        await fix_ci(c, state, sha, notes, list(last), answer if name == "continue" else None)
        return
    if kind == "review":
        review_id = node_id.removeprefix("review-")
        state.handled = [h for h in state.handled if h != f"review:{review_id}"]
        if answer:
            state.answers.setdefault(node_id, []).append(f"A person answered: {answer}")
        state.phase = Phase.AWAIT_CI
        await on_review(c, state, {"review_id": review_id, "pull": state.pr_number})
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
        await c.await_ci(state)
        await on_ci(c, state, state.ci_sha or "", force=True)
        return
    await c._start(state)


def _number(node_id: str) -> int:
    """The number in `ci-3` or `review-12`; 0 for anything else."""
    tail = node_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0
