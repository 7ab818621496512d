"""Whether a run's work is held off its branch, and whether an `approve` may release it (pure).

The run's branch lives in the repository, whose CI runs whatever is pushed to a branch with the
repository's secrets. Work steered by someone without write access (typically the author of an
issue a writer labelled) is pushed to `refs/pilot/<n>` instead, a ref no workflow runs on, until
a writer has read its diff and approved exactly the commit shown (docs/security.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.run.state import Phase, RunState

HoldMode = Literal["auto", "always", "never"]

# The roles the collaborator-permission API gives people who may push (as
# bot/delivery/permissions.py judges who may steer; the run room cannot import it).
WRITE_ROLES = frozenset({"admin", "maintain", "write"})

# What `state.hold["state"]` says: the work waits for approval, went straight to the branch,
# or was approved and moved there.
HELD, FREE, RELEASED = "held", "free", "released"

_SHA_PREFIX = re.compile(r"^[0-9a-f]{7,40}$")


def held_ref(issue: int) -> str:
    return f"refs/pilot/{issue}"


@dataclass(frozen=True)
class HoldDecision:
    hold: bool
    outsiders: tuple[str, ...]  # the people without write whose words reached the agent
    why: str


def outsiders(roles: Mapping[str, str]) -> tuple[str, ...]:
    """Of the people whose words reach a prompt (login → role), those who cannot push; an
    unknown author (an empty login) counts as one."""
    return tuple(
        sorted(login or "(unknown)" for login, role in roles.items() if role not in WRITE_ROLES)
    )


def decide_hold(mode: HoldMode, roles: Mapping[str, str]) -> HoldDecision:
    """Hold when the repository says `always`, or by default when anyone whose words steer the
    run lacks write access; `never` trusts the labeller to have read the issue."""
    strangers = outsiders(roles)
    if mode == "never":
        return HoldDecision(False, strangers, "`hold: never` in .github/pilot.yml")
    if mode == "always":
        return HoldDecision(True, strangers, "`hold: always` in .github/pilot.yml")
    if strangers:
        names = ", ".join(f"@{login}" for login in strangers)
        return HoldDecision(True, strangers, f"written in part by {names}, without write access")
    return HoldDecision(False, strangers, "written only by people with write access")


def hold_record(decision: HoldDecision, issue: int) -> dict[str, Any]:
    """What the state keeps of the decision (`RunState.hold`)."""
    record: dict[str, Any] = {"state": HELD if decision.hold else FREE, "why": decision.why}
    if decision.outsiders:
        record["outsiders"] = list(decision.outsiders)
    if decision.hold:
        record["ref"] = held_ref(issue)
    return record


def is_held(state: RunState) -> bool:
    return state.hold is not None and state.hold.get("state") == HELD


def push_ref(state: RunState) -> str | None:
    """Where the run's pushes go instead of its branch; None for the branch itself."""
    return held_ref(state.issue) if is_held(state) else None


def shown_sha(state: RunState) -> str | None:
    """The commit the last review comment showed, the only one an `approve` moves."""
    sha = (state.hold or {}).get("shown")
    return str(sha) if sha else None


def approval_problem(state: RunState, args: str) -> str | None:
    """Why an `approve` of held work cannot go through now; None when it can. The approval is
    for the commit the review comment showed: one given that is not it asks for a new look."""
    shown = shown_sha(state)
    if state.phase is not Phase.HELD or shown is None:
        return (
            "The work is still going on and goes to the held ref; approve it once its diff "
            "is posted for review."
        )
    words = args.split()
    named = words[0].lower() if words else ""
    if named and _SHA_PREFIX.match(named) and not shown.startswith(named):
        return (
            f"`{named}` is not the commit posted for review: the latest is `{shown[:12]}`. "
            "Please review that diff and approve again."
        )
    return None
