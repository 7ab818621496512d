"""What people read about a run: the status comment's text and the PR body (pure)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.agent.requirements import NodeStatus, RequirementTree
from bot.core.inert import neutralise
from bot.core.templates import render
from bot.run.setup_detect import as_config
from bot.run.state import Phase, RunState

_HEADLINES = {
    Phase.QUEUED: "Queued.",
    Phase.PLAN: "Planning: turning the issue into a requirement tree.",
    Phase.WAIT_APPROVAL: "The plan below waits for approval (`{prefix} approve`).",
    Phase.SETUP: "Setting up the workspace.",
    Phase.EXECUTE: "Working on the requirements below.",
    Phase.CHECK: "Running the repository's test command in the sandbox.",
    Phase.PULL_REQUEST: "Opening the pull request.",
    Phase.AWAIT_CI: "Draft pull request opened; waiting for the repository's CI.",
    Phase.ASKED: "Waiting for an answer from a person (see the question below).",
    Phase.STOPPED: "Stopped.",
    Phase.FAILED: "Stopped on an error.",
    Phase.READY: "Done: the pull request is ready for review.",
    Phase.MERGED: "The pull request was merged.",
    Phase.CLOSED: "The pull request was closed without merging.",
    Phase.HELD: "The work is held off the branch; its diff (comment below) waits for a writer's "
    "`{prefix} approve`.",
    Phase.WAIT_EDIT: "Paused: the issue was edited after the label; the new text waits for "
    "`{prefix} approve`.",
}


@dataclass(frozen=True)
class StatusReport:
    headline: str
    checklist: str
    facts: tuple[str, ...]


def tree_of(state: RunState) -> RequirementTree | None:
    return RequirementTree.from_state(state.tree) if state.tree is not None else None


def status_report(
    state: RunState,
    prefix: str,
    token_limit: int | None,
    now: float | None = None,
    ci_max: int | None = None,
    headline: str | None = None,
) -> StatusReport:
    explicit = headline
    headline = _HEADLINES[state.phase].format(prefix=prefix)
    if state.phase is Phase.EXECUTE and state.tree is not None:
        current = [n for n in state.tree if n.get("status") == NodeStatus.IN_PROGRESS]
        if current:
            headline = f"Working on **{current[0]['id']}**."
    if state.phase is Phase.FAILED and state.error:
        headline = f"Stopped on an error: {neutralise(state.error)}"
    if state.phase is Phase.ASKED and state.parked:
        node = neutralise(str(state.parked.get("node")))
        headline = f"Waiting for an answer from a person about **{node}**."
    if explicit is not None:
        headline = explicit
    tree = tree_of(state)
    facts: list[str] = [f"Asked by @{state.requested_by}."]
    if state.pr_url:
        facts.append(f"Pull request: {state.pr_url}")
    elif state.branch:
        facts.append(f"Branch: `{state.branch}`")
    if state.prompt_tokens or state.completion_tokens:
        used = state.prompt_tokens + state.completion_tokens
        limit = f" of {token_limit:,}" if token_limit else ""
        facts.append(f"Tokens: {used:,}{limit}; agent steps: {state.steps}")
    if state.hidden_ignored:
        facts.append(
            f"Hidden fragments ignored: {state.hidden_ignored} (HTML comments, invisible "
            "characters; no prompt gets them)"
        )
    hold = state.hold or {}
    if hold.get("state") == "held":
        facts.append(f"Held on `{hold.get('ref')}` (no CI runs there) until a writer approves")
    elif hold.get("state") == "released":
        facts.append(f"Held work approved by {hold.get('approved_by')}")
    if state.ci_attempt and ci_max:
        facts.append(f"CI attempt {state.ci_attempt} of {ci_max}")
    if state.check is not None:
        verdict = "passed" if state.check.passed else "failed"
        facts.append(f"Local check `{state.check.command}`: {verdict}")
    facts += _test_facts(state)
    if state.phase not in (
        Phase.QUEUED,
        Phase.AWAIT_CI,
        Phase.READY,
        Phase.STOPPED,
        Phase.MERGED,
        Phase.CLOSED,
    ):
        elapsed = int((now if now is not None else time.time()) - state.started_at)
        facts.append(f"Elapsed: {elapsed} s")
    return StatusReport(headline, tree.render_checklist() if tree else "", tuple(facts))


def _test_facts(state: RunState) -> list[str]:
    """What the guard before `ready` found (phases/test_guard.py), or who confirmed it."""
    guard = state.test_guard or {}
    waiting = [f for f in guard.get("findings") or [] if isinstance(f, dict)]
    if waiting:
        listed = "; ".join(neutralise(str(f.get("detail")), 200) for f in waiting[:3])
        more = f"; and {len(waiting) - 3} more" if len(waiting) > 3 else ""
        return [f"Tests weakened, for a person to confirm: {listed}{more}"]
    if guard.get("by"):
        return [f"Changes to the tests confirmed by @{neutralise(str(guard['by']), 60)}"]
    return []


def pull_request_title(issue_title: str) -> str:
    return f"{issue_title.strip()[:200] or 'Pilot work'}"


# Where GitHub has no drafts (private repositories on Free and Pro), the title says it instead.
WIP_PREFIX = "[WIP] "


def wip_title(title: str) -> str:
    return title if title.startswith(WIP_PREFIX) else WIP_PREFIX + title


def pull_request_body(state: RunState, summary: str, token_limit: int | None) -> str:
    tree = tree_of(state)
    return render(
        "pull_request/body.md.j2",
        summary=summary,
        checklist=tree.render_checklist() if tree else "",
        check=state.check,
        tokens=state.prompt_tokens + state.completion_tokens,
        token_limit=token_limit,
        steps=state.steps,
        issue=state.issue,
        requested_by=state.requested_by,
        setup=_detected_setup(state),
    )


def _detected_setup(state: RunState) -> dict[str, object] | None:
    """The set-up detected in the repository's files, as the PR body shows it: run, or
    offered for .github/pilot.yml (people read the PR body once; that is where it goes)."""
    found = state.detected_setup
    if not isinstance(found, dict) or not isinstance(found.get("commands"), list):
        return None
    sources = found.get("sources") if isinstance(found.get("sources"), list) else []
    return {
        "ran": found.get("ran") is True,
        "sources": ", ".join(neutralise(str(s), 100) for s in sources or []) or "its files",
        "config": as_config(str(c) for c in found["commands"]),
    }
