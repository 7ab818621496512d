"""Whose failure a red check is (bot/run/ci_triage.py): pre-existing, flaky or ours."""

from __future__ import annotations

from bot.run.ci_triage import Triage, implicated, should_rerun, triage


def test_a_check_red_on_the_base_branch_is_pre_existing_and_the_rest_ours() -> None:
    found = triage(["lint", "tests"], base_failing={"lint", "docs"})
    assert found == Triage(pre_existing=["lint"], flaky=[], ours=["tests"])
    assert found.verdicts == {"lint": "pre_existing", "tests": "ours"}
    assert not found.green


def test_only_pre_existing_failures_leave_nothing_to_fix() -> None:
    found = triage(["lint"], base_failing=["lint"])
    assert found.green and found.pre_existing == ["lint"]


def test_a_check_that_passes_on_the_re_run_is_flaky() -> None:
    found = triage(["tests", "lint"], base_failing=[], failing_on_rerun=["lint"])
    assert found == Triage(pre_existing=[], flaky=["tests"], ours=["lint"])


def test_a_check_red_on_base_that_passes_on_the_re_run_is_flaky_not_pre_existing() -> None:
    found = triage(["tests"], base_failing=["tests"], failing_on_rerun=[])
    assert found.verdicts == {"tests": "flaky"} and found.green


def test_a_check_failing_only_on_the_re_run_is_ours() -> None:
    found = triage(["build"], base_failing=[], failing_on_rerun=["deploy"])
    assert found.verdicts == {"build": "flaky", "deploy": "ours"}
    assert not found.green


def test_duplicates_are_judged_once() -> None:
    assert triage(["a", "a"], []).ours == ["a"]


def test_a_re_run_only_when_a_failure_not_red_on_base_can_be_run_again() -> None:
    assert should_rerun(["tests"], base_failing=[], rerunnable={"tests"})
    assert not should_rerun(["tests"], base_failing=["tests"], rerunnable={"tests"})
    # A commit status (an outside CI) is not re-run by rerun-failed-jobs.
    assert not should_rerun(["ci/jenkins"], base_failing=[], rerunnable={"tests"})
    assert should_rerun(["ci/jenkins", "tests"], base_failing=[], rerunnable={"tests"})


def test_a_base_red_failure_naming_the_runs_files_is_still_the_runs() -> None:
    log = 'Traceback (most recent call last):\n  File "/w/calc.py", line 2, in add\nFAIL'
    assert implicated(log, ["calc.py"])
    assert implicated("FAILED tests/test_calc.py::test_add", ["tests/test_calc.py"])
    assert implicated("FAILED test_calc.py::test_add", ["src/test_calc.py"])  # by file name
    assert not implicated("lint: docs/guide.md too long", ["calc.py"])
    assert not implicated("", ["calc.py"]) and not implicated(log, [])
