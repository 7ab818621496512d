"""The CI verdict rules, log trimming and the notes a fix reads."""

from __future__ import annotations

import pytest

from bot.github.api import CheckRunInfo, CheckSuiteInfo, JobLog, StatusInfo, WorkflowRunInfo
from bot.github.ci_report import CiVerdict, failure_notes, trim_log, verdict

OWN = "issue-pilot"


def run(
    id: int,
    name: str,
    conclusion: str | None = "success",
    status: str = "completed",
    app: str = "github-actions",
    summary: str = "",
) -> CheckRunInfo:
    return CheckRunInfo(id, name, status, conclusion, app, "", summary, "", f"https://x/{id}")


def status(
    context: str, state: str, creator: str = "ci-person", description: str = ""
) -> StatusInfo:
    return StatusInfo(context, state, description, f"https://ci/{context}", creator)


def test_nothing_reported_is_none() -> None:
    assert verdict([], [], OWN) == CiVerdict("none", [], [], [])


def test_only_our_own_checks_and_statuses_is_none() -> None:
    ours = [run(1, "pilot", "failure", app=OWN), run(2, "plan", status="in_progress", app=OWN)]
    own_status = status("pilot/verify", "pending", creator=f"{OWN}[bot]")
    assert verdict(ours, [own_status], OWN).state == "none"


def test_own_app_is_excluded_from_a_mixed_commit() -> None:
    runs = [run(1, "tests"), run(2, "pilot", status="queued", app=OWN)]
    result = verdict(runs, [], OWN)
    assert result == CiVerdict("green", [], ["tests"], [])


def test_all_passing_is_green_with_neutral_and_skipped() -> None:
    runs = [run(1, "tests"), run(2, "lint", "neutral"), run(3, "docs", "skipped")]
    result = verdict(runs, [status("ext", "success")], OWN)
    assert result.state == "green"
    assert result.passing == ["tests", "lint", "docs", "ext"]
    assert result.failing == result.pending == []


@pytest.mark.parametrize(
    "conclusion",
    ["failure", "cancelled", "timed_out", "action_required", "startup_failure", "stale", None],
)
def test_failing_conclusions(conclusion: str | None) -> None:
    result = verdict([run(1, "tests"), run(2, "build", conclusion)], [], OWN)
    assert result == CiVerdict("red", ["build"], ["tests"], [])


def test_anything_pending_keeps_the_verdict_pending_but_names_failures() -> None:
    runs = [run(1, "tests", "failure"), run(2, "slow", None, status="in_progress")]
    result = verdict(runs, [], OWN)
    assert result == CiVerdict("pending", ["tests"], [], ["slow"])
    assert verdict([run(1, "q", None, status="queued")], [], OWN).state == "pending"


def workflow(id: int, conclusion: str, suite: int) -> WorkflowRunInfo:
    return WorkflowRunInfo(id, f".github/workflows/w{id}.yml", "completed", conclusion, 1, suite)


def suite(id: int, check_runs: int, conclusion: str = "failure") -> CheckSuiteInfo:
    return CheckSuiteInfo(id, "github-actions", "completed", conclusion, check_runs)


def test_a_run_that_failed_before_any_job_is_a_refused_file_not_a_red_check() -> None:
    refused = workflow(1, "failure", 10)
    result = verdict([], [], OWN, [refused], [suite(10, 0)])
    assert result == CiVerdict("broken", broken=[".github/workflows/w1.yml"])
    started = workflow(2, "startup_failure", 20)
    assert verdict([], [], OWN, [started], [suite(20, 0)]).broken == [started.name]
    # Another workflow's passing jobs do not make it green: the refused file tested nothing.
    passed = verdict(
        [run(5, "lint")],
        [],
        OWN,
        [refused, workflow(3, "success", 30)],
        [suite(10, 0), suite(30, 1, "success")],
    )
    assert (passed.state, passed.passing, passed.broken) == ("broken", ["lint"], [refused.name])
    # A failing job is the code's to fix, refused files or not.
    red = verdict(
        [run(6, "tests", "failure")],
        [],
        OWN,
        [refused, workflow(4, "failure", 40)],
        [suite(10, 0), suite(40, 1)],
    )
    assert (red.state, red.failing, red.broken) == ("red", ["tests"], [refused.name])


def test_a_failed_run_with_jobs_or_cancelled_early_is_not_a_refused_file() -> None:
    # Cancelled before its jobs (a newer push in its concurrency group): red, as before.
    cancelled = verdict([], [], OWN, [workflow(1, "cancelled", 10)], [suite(10, 0, "cancelled")])
    assert (cancelled.state, cancelled.failing) == ("red", ["workflow .github/workflows/w1.yml"])
    # Jobs ran but none of their checks is readable: still the code's failure.
    unread = verdict([], [], OWN, [workflow(2, "failure", 20)], [suite(20, 2)])
    assert (unread.state, unread.broken) == ("red", [])
    # Without its suite, nothing says no job started.
    unknown = verdict([], [], OWN, [WorkflowRunInfo(3, "CI", "completed", "failure")])
    assert unknown.state == "red"


def test_statuses_mixed_with_checks() -> None:
    statuses = [status("ci/circle", "failure"), status("deploy", "pending")]
    assert verdict([run(1, "tests")], statuses, OWN) == CiVerdict(
        "pending", ["ci/circle"], ["tests"], ["deploy"]
    )
    statuses = [status("ci/circle", "error"), status("coverage", "success")]
    assert verdict([run(1, "tests")], statuses, OWN) == CiVerdict(
        "red", ["ci/circle"], ["tests", "coverage"], []
    )


def test_the_first_status_of_a_context_is_its_latest() -> None:
    statuses = [status("ci", "success"), status("ci", "failure")]
    assert verdict([], statuses, OWN) == CiVerdict("green", [], ["ci"], [])


def test_a_rerun_of_the_same_check_supersedes_the_older_one() -> None:
    # Given in any order: the highest id is the newest run.
    runs = [run(7, "tests", "success"), run(3, "tests", "failure")]
    assert verdict(runs, [], OWN) == CiVerdict("green", [], ["tests"], [])
    rerun = [run(3, "tests", "success"), run(9, "tests", None, status="in_progress")]
    assert verdict(rerun, [], OWN) == CiVerdict("pending", [], [], ["tests"])
    again = [run(3, "tests", "success"), run(9, "tests", "failure")]
    assert verdict(again, [], OWN).state == "red"


def test_same_name_from_another_app_is_a_separate_check() -> None:
    runs = [run(1, "tests", "failure", app="circleci"), run(2, "tests", "success")]
    assert verdict(runs, [], OWN) == CiVerdict("red", ["tests"], ["tests"], [])


# ---- trim_log ------------------------------------------------------------------------------


def _stamped(lines: list[str]) -> str:
    return "".join(
        f"2026-11-22T05:00:{i % 60:02d}.1234567Z {line}\n" for i, line in enumerate(lines)
    )


def test_short_log_is_kept_whole_without_ansi_and_timestamps() -> None:
    text = _stamped(["\x1b[32mok\x1b[0m step one", "\x1b[1;31mError: boom\x1b[0m", ""])
    assert trim_log(text) == "ok step one\nError: boom"


def test_long_log_keeps_the_error_with_context_and_the_tail() -> None:
    lines = [f"noise line {i}" for i in range(2000)]
    lines[500:504] = [
        "Traceback (most recent call last):",
        '  File "test_x.py", line 3, in test_x',
        "    assert add(1, 1) == 3",
        "AssertionError: 2 != 3",
    ]
    lines += ["FAILED test_x.py::test_x", "##[error]Process completed with exit code 1."]
    out = trim_log(_stamped(lines), max_chars=2000)
    assert len(out) <= 2000
    assert "AssertionError: 2 != 3" in out
    assert "Traceback (most recent call last):" in out
    assert "noise line 499" in out and "noise line 506" in out  # context around the error
    assert "noise line 100" not in out
    assert out.endswith("##[error]Process completed with exit code 1.")
    assert "FAILED test_x.py::test_x" in out
    assert "[... 497 lines cut ...]" in out
    assert "2026-11-22T" not in out


def test_trim_log_marks_every_cut_and_keeps_order() -> None:
    lines = [f"line {i}" for i in range(300)]
    lines[100] = "fatal: something broke"
    out = trim_log("\n".join(lines), max_chars=800)
    kept = out.split("\n")
    assert kept[0].startswith("[... ") and kept[0].endswith(" cut ...]")
    assert out.index("fatal: something broke") < out.index("line 299")
    assert out.endswith("line 299")
    assert sum(1 for line in kept if line.startswith("[... ")) == 2


def test_trim_log_is_bounded_even_with_huge_lines_and_many_errors() -> None:
    text = "\n".join(["x" * 50_000] + [f"error {i}: " + "y" * 300 for i in range(5000)])
    for limit in (500, 3000, 6000):
        out = trim_log(text, max_chars=limit)
        assert len(out) <= limit
        assert "error 4999" in out  # the tail
    assert "error 0:" in trim_log(text, max_chars=6000)  # the first error too
    assert len(trim_log(text, max_chars=50)) <= 50


def test_trim_log_removes_other_escapes_and_redrawn_progress() -> None:
    text = "\x1b]0;title\x07start\r\ndownloading 10%\rdownloading 100%\n\x1b[2Kdone\n"
    assert trim_log(text) == "start\ndownloading 100%\ndone"


# ---- failure_notes -------------------------------------------------------------------------


def test_failure_notes_pair_checks_with_their_job_logs() -> None:
    runs = [run(1, "tests", "failure", summary="1 failed"), run(2, "lint"), run(3, "ours", app=OWN)]
    statuses = [status("ci/ext", "error", description="external CI crashed")]
    logs = [
        JobLog(11, "tests", "failure", "collecting\nAssertionError: boom\n"),
        JobLog(12, "other job", "failure", "Error: elsewhere\n"),
    ]
    result = verdict(runs, statuses, OWN)
    notes = failure_notes(result, runs, logs, statuses=statuses)
    assert len(notes) == 3
    tests_note, status_note, orphan = notes
    assert tests_note.startswith("Check `tests` (github-actions): failure")
    assert "1 failed" in tests_note and "AssertionError: boom" in tests_note
    assert "Status `ci/ext`: error (external CI crashed)" in status_note
    assert "Job `other job`: failure" in orphan and "Error: elsewhere" in orphan


def test_failure_notes_stay_in_budget() -> None:
    runs = [run(i, f"job{i}", "failure", summary="s" * 5000) for i in range(1, 4)]
    logs = [JobLog(i, f"job{i}", "failure", "error here\n" * 5000) for i in range(1, 4)]
    notes = failure_notes(verdict(runs, [], OWN), runs, logs, max_chars=3000)
    assert len(notes) == 3
    assert sum(len(n) for n in notes) <= 3000
    assert all("error here" in n for n in notes)


def test_no_failures_no_notes() -> None:
    runs = [run(1, "tests")]
    assert failure_notes(verdict(runs, [], OWN), runs, []) == []
