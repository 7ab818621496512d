"""Whether a run's work is held off its branch, and when an `approve` may release it."""

from __future__ import annotations

import pytest

from bot.run.hold_rule import (
    FREE,
    HELD,
    approval_problem,
    decide_hold,
    held_ref,
    hold_record,
    is_held,
    outsiders,
    push_ref,
    shown_sha,
)
from bot.run.state import Phase, RunState

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_an_outsiders_issue_labelled_by_a_writer_is_held() -> None:
    decision = decide_hold("auto", {"mallory": "read", "alice": "admin"})
    assert decision.hold and decision.outsiders == ("mallory",)
    assert "@mallory" in decision.why


@pytest.mark.parametrize("role", ["admin", "maintain", "write"])
def test_a_writers_own_issue_is_not_held_by_default(role: str) -> None:
    decision = decide_hold("auto", {"alice": role})
    assert not decision.hold and decision.outsiders == ()


@pytest.mark.parametrize("role", ["read", "triage", "none", ""])
def test_anyone_who_cannot_push_is_an_outsider(role: str) -> None:
    assert outsiders({"bob": role, "alice": "write"}) == ("bob",)


def test_an_issue_without_a_known_author_is_held() -> None:
    decision = decide_hold("auto", {"": "none", "alice": "write"})
    assert decision.hold and decision.outsiders == ("(unknown)",)


def test_always_holds_a_writers_work_and_never_holds_nobodys() -> None:
    assert decide_hold("always", {"alice": "admin"}).hold
    never = decide_hold("never", {"mallory": "none"})
    assert not never.hold and never.outsiders == ("mallory",)


def test_the_record_names_the_ref_only_when_held() -> None:
    held = hold_record(decide_hold("auto", {"mallory": "none"}), 15)
    assert held["state"] == HELD and held["ref"] == "refs/pilot/15" == held_ref(15)
    assert held["outsiders"] == ["mallory"]
    free = hold_record(decide_hold("auto", {"alice": "write"}), 15)
    assert free["state"] == FREE and "ref" not in free and "outsiders" not in free


def held_state(phase: Phase, shown: str | None = SHA) -> RunState:
    state = RunState(15, "alice", phase)
    state.hold = {"state": HELD, "ref": "refs/pilot/15", **({"shown": shown} if shown else {})}
    return state


def test_a_held_run_pushes_to_its_held_ref_until_released() -> None:
    state = held_state(Phase.EXECUTE)
    assert is_held(state) and push_ref(state) == "refs/pilot/15"
    assert state.hold is not None
    state.hold["state"] = "released"
    assert not is_held(state) and push_ref(state) is None
    assert push_ref(RunState(15, "alice")) is None


def test_approve_moves_the_shown_commit_once_the_run_rests_held() -> None:
    state = held_state(Phase.HELD)
    assert shown_sha(state) == SHA
    assert approval_problem(state, "") is None
    assert approval_problem(state, SHA[:7]) is None
    assert approval_problem(state, f"{SHA[:12].upper()} looks fine") is None
    # Words that are not a commit are a comment, not a different commit.
    assert approval_problem(state, "looks good") is None


def test_approve_of_another_commit_than_the_one_shown_asks_again() -> None:
    problem = approval_problem(held_state(Phase.HELD), "fedcba9")
    assert problem is not None and SHA[:12] in problem and "approve again" in problem


@pytest.mark.parametrize("phase", [Phase.EXECUTE, Phase.ASKED, Phase.PLAN])
def test_approve_while_the_work_goes_on_is_refused(phase: Phase) -> None:
    problem = approval_problem(held_state(phase), "")
    assert problem is not None and "still going on" in problem


def test_approve_before_anything_was_shown_is_refused() -> None:
    assert approval_problem(held_state(Phase.HELD, shown=None), "") is not None


def test_the_hold_survives_the_state_block() -> None:
    state = held_state(Phase.HELD)
    again = RunState.from_dict(state.to_dict())
    assert again.hold == state.hold and is_held(again) and again.phase is Phase.HELD
