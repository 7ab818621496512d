from __future__ import annotations

from bot.core.branches import branch_name, is_run_branch
from bot.github.status_comment import parse_state, render_status
from bot.run.state import LocalCheck, Phase, RunState, run_dir_name


def test_state_round_trips_through_the_status_comment() -> None:
    state = RunState(
        issue=7,
        requested_by="octocat",
        phase=Phase.EXECUTE,
        branch="pilot/issue-7-fix",
        tree=[{"id": "R1", "title": "t", "status": "done"}],
        prompt_tokens=10,
        completion_tokens=5,
        check=LocalCheck("pytest -q", 1, False, "1 failed"),
    )
    body = render_status("Working.", state.to_dict())
    data = parse_state(body)
    assert data is not None
    again = RunState.from_dict(data)
    assert again == state
    assert again.usage.total == 15
    assert again.check is not None and not again.check.passed


def test_the_queued_stub_of_request_run_reads_as_a_state() -> None:
    state = RunState.from_dict({"phase": "queued", "requested_by": "a", "issue": 3})
    assert state.phase is Phase.QUEUED
    assert state.tree is None and state.requested_by == "a"


def test_unknown_fields_from_a_newer_writer_are_ignored() -> None:
    state = RunState.from_dict({"phase": "plan", "requested_by": "a", "issue": 3, "new": 1})
    assert state.phase is Phase.PLAN


def test_branch_names_are_safe_and_readable() -> None:
    assert branch_name(12, "Fix: the `add()` function!") == "pilot/issue-12-fix-the-add-function"
    assert branch_name(3, "Ünïcödé ☃ title") == "pilot/issue-3-unicode-title"
    assert branch_name(4, "☃☃") == "pilot/issue-4-work"
    long = branch_name(5, "word " * 40)
    assert len(long) <= len("pilot/issue-5-") + 40 and not long.endswith("-")


def test_run_dir_names_have_no_slashes() -> None:
    assert run_dir_name("octo/repo", 9) == "octo__repo__issue-9"


def test_a_state_block_cannot_point_the_run_at_another_branch() -> None:
    ours = branch_name(7, "Greet people by name")
    assert is_run_branch(ours, 7) and is_run_branch(branch_name(7, "¿¡!"), 7)
    assert RunState.from_dict({"issue": 7, "requested_by": "a", "branch": ours}).branch == ours
    for edited in ("main", "pilot/issue-8-greet", f"{ours}/../../main", "pilot/issue-7-x--y-"):
        state = RunState.from_dict({"issue": 7, "requested_by": "a", "branch": edited})
        assert state.branch is None, edited
