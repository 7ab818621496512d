"""ghsim's Actions rules, pure: expressions, matrices, skip markers, needs and re-runs."""

from __future__ import annotations

import pytest

from ghsim.ci.conditions import job_status, should_run
from ghsim.ci.expressions import ExpressionError, Scope, Status, condition_holds, interpolate
from ghsim.ci.matrix import combinations, instance_name
from ghsim.ci.schedule import job_result, ready_jobs
from ghsim.ci.skips import skips_workflows
from ghsim.ci.workflow import WorkflowError, parse_workflow

GITHUB = {"event_name": "push", "ref": "refs/heads/main", "actor": "alice", "sha": "abc"}


def scope(status: Status | None = None, **contexts: object) -> Scope:
    return Scope({"github": GITHUB, "matrix": {}, "needs": {}, **contexts}, status or Status())


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("github.event_name == 'push'", True),
        ("${{ github.event_name == 'PUSH' }}", True),  # strings compare case-insensitively
        ("github.ref != 'refs/heads/main'", False),
        ("github.nothing == null", True),
        ("startsWith(github.ref, 'refs/heads/') && github.actor == 'alice'", True),
        ("contains(fromJSON_missing, 'x')", None),
        ("false", False),
        ("1 == '1'", True),
        ("always()", True),
    ],
)
def test_conditions(text: str, holds: bool | None) -> None:
    if holds is None:
        with pytest.raises(ExpressionError):
            condition_holds(text, scope())
        return
    assert condition_holds(text, scope()) is holds


def test_an_if_without_a_status_function_also_needs_success() -> None:
    failed = Status(success=False, failure=True)
    assert condition_holds("github.event_name == 'push'", scope(failed)) is False
    assert condition_holds("failure() && github.event_name == 'push'", scope(failed)) is True
    assert condition_holds("always()", scope(failed)) is True
    assert should_run("${{ !cancelled() }}", job_failed=True) is True
    assert should_run(None, job_failed=True) is False
    assert should_run("success()", job_failed=False, cancelled=True) is False


def test_unknown_contexts_are_refused_and_text_is_interpolated() -> None:
    with pytest.raises(ExpressionError, match="Unrecognized named-value: 'steps'"):
        interpolate("${{ steps.x.outputs.y }}", scope())
    text = "py ${{ matrix.python }} on ${{ github.ref }} ${{ matrix.missing }}!"
    assert interpolate(text, scope(matrix={"python": 3.11})) == "py 3.11 on refs/heads/main !"


def test_matrix_product_exclude_include_and_names() -> None:
    raw = {
        "python": ["3.11", "3.12"],
        "os": ["ubuntu", "debian"],
        "exclude": [{"python": "3.12", "os": "debian"}],
        "include": [{"os": "ubuntu", "extra": "yes"}, {"python": "3.13", "os": "alpine"}],
    }
    combos = combinations(raw, "m")
    assert combos == (
        {"python": "3.11", "os": "ubuntu", "extra": "yes"},
        {"python": "3.11", "os": "debian"},
        {"python": "3.12", "os": "ubuntu", "extra": "yes"},
        {"python": "3.13", "os": "alpine"},
    )
    assert instance_name("test", {"python": "3.11", "os": "ubuntu"}, scope()) == (
        "test (3.11, ubuntu)"
    )
    named = scope(matrix={"python": "3.11"})
    assert instance_name("py ${{ matrix.python }}", {"python": "3.11"}, named) == "py 3.11"
    with pytest.raises(ValueError, match="does not contain any values"):
        combinations({"python": []}, "m")


@pytest.mark.parametrize(
    ("message", "skips"),
    [
        ("Fix it [skip ci]", True),
        ("[ci skip] docs", True),
        ("x\n\nbody [no ci]", True),
        ("[skip actions]", True),
        ("[actions skip]", True),
        ("Fix\n\nSigned-off-by: a\nskip-checks: true", True),
        ("Fix\n\nskip-checks:true", True),
        ("skip-checks: true", False),  # a trailer needs a subject before it
        ("Fix\n\nskip-checks: true\nSigned-off-by: a", False),  # and must be last
        ("Fix [skip-ci]", False),
    ],
)
def test_skip_markers(message: str, skips: bool) -> None:
    assert skips_workflows(message) is skips


NEEDS = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  test:
    runs-on: ubuntu-latest
    needs: build
    strategy: {matrix: {python: ["3.11", "3.12"]}}
    steps: [{run: "true"}]
  report:
    runs-on: ubuntu-latest
    needs: [test]
    if: always()
    steps: [{run: "true"}]
  deploy:
    runs-on: ubuntu-latest
    needs: [test]
    steps: [{run: "true"}]
"""


def test_needs_wait_and_a_failure_skips_dependents_unless_their_if_says_otherwise() -> None:
    jobs = parse_workflow("ci.yml", NEEDS).jobs
    assert [r.job.key for r in ready_jobs(jobs, {})] == ["build"]
    assert [r.job.key for r in ready_jobs(jobs, {"build": None})] == []
    ready = ready_jobs(jobs, {"build": "success"})
    assert [r.job.key for r in ready] == ["test"] and ready[0].status.success
    after = {r.job.key: r for r in ready_jobs(jobs, {"build": "success", "test": "failure"})}
    assert set(after) == {"report", "deploy"}
    assert condition_holds(jobs[2].condition, scope(after["report"].status)) is True
    assert condition_holds(jobs[3].condition, scope(after["deploy"].status)) is False
    assert after["deploy"].needs == {"test": {"result": "failure", "outputs": {}}}
    assert job_result(["success", "failure"]) == "failure"
    assert job_result(["skipped"]) == "skipped"
    assert job_status(["skipped"], ancestors_failed=False).success is False


def test_workflows_with_bad_needs_are_refused() -> None:
    with pytest.raises(WorkflowError, match="depends on unknown job 'nope'"):
        parse_workflow(
            "x.yml",
            "on: push\njobs:\n  a:\n    runs-on: x\n    needs: nope\n    steps: [{run: x}]\n",
        )
    circle = (
        "on: push\njobs:\n  a: {runs-on: x, needs: b, steps: [{run: x}]}\n"
        "  b: {runs-on: x, needs: a, steps: [{run: x}]}\n"
    )
    with pytest.raises(WorkflowError, match="depends on itself"):
        parse_workflow("x.yml", circle)
