"""A status comment whose state block cannot be read (cut short, or edited by hand by someone
with write access): the run is not started over as if it had none. It fails, says so once,
keeps what could still be read, and rests until a writer says how to go on: `retry` goes on
from there, `run` or the label again starts a new attempt (bot/run/restart.py)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from bot.core.templates import render
from bot.github.status_comment import parse_state, salvage_state
from bot.run.state import Phase, RunState

UNREADABLE = "the state block of the status comment could not be read"

# What a new attempt needs to keep its branch, pull request and spent budget, read from a block
# that does not parse when the value has its type. No nested object of the state has these keys.
SALVAGED: dict[str, tuple[type, ...]] = {
    "requested_by": (str,),
    "branch": (str,),
    "base_branch": (str,),
    "pr_number": (int,),
    "pr_url": (str,),
    "pr_wip": (bool,),
    "head_sha": (str,),
    "attempt": (int,),
    "prompt_tokens": (int,),
    "completion_tokens": (int,),
    "token_base": (int,),
    "steps": (int,),
    "iterations": (int,),
    "hidden_ignored": (int,),
    "started_at": (int, float),
    "trigger": (str,),
}


_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}(?:\[bot\])?")


def read_state(body: str) -> RunState | None:
    """The state a status comment's block holds; None when it holds none that can be read."""
    data = parse_state(body)
    if data is None:
        return None
    try:
        return RunState.from_dict(data)
    except (TypeError, ValueError, KeyError):
        return None  # a block that parses as JSON but is no state (a phase no run has, …)


def recovered_state(body: str, issue: int, now: float) -> RunState:
    """The failed run `body`'s unreadable block leaves: what can still be read of it (a branch
    the issue's own name does not give is dropped by `from_dict`)."""
    found = salvage_state(body, SALVAGED)
    values: dict[str, Any] = {
        key: value
        for key, value in found.items()
        if isinstance(value, SALVAGED[key]) and (key == "pr_wip" or not isinstance(value, bool))
    }
    if not _LOGIN.fullmatch(str(values.get("requested_by", ""))):
        values["requested_by"] = ""  # the notice mentions it: a login, or no one
    state = RunState.from_dict({**values, "issue": issue, "phase": Phase.FAILED.value})
    state.error = UNREADABLE
    state.ended_at = now
    return state


def notice_key(body: str) -> str:
    """The one notice per unreadable block: another breakage later is told again."""
    return "state-unreadable-" + hashlib.sha256(body.encode()).hexdigest()[:16]


def notice(state: RunState, prefix: str) -> str:
    kept = []
    if state.branch:
        kept.append(f"the branch `{state.branch}`")
    if state.pr_number:
        kept.append(f"pull request #{state.pr_number}")
    if state.prompt_tokens or state.completion_tokens:
        kept.append(f"{state.prompt_tokens + state.completion_tokens:,} tokens spent")
    return render(
        "comments/state_unreadable.md.j2",
        requested_by=state.requested_by,
        kept=", ".join(kept),
        branch=state.branch,
        prefix=prefix,
    )
