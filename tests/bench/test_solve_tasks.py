"""The tasks of bench/solve.py are sound (each fails as shipped and passes with its reference
fix, by the bench's own judge) and the judge tells a fix from a result that weakened the tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bench.solve_judge import (
    Task,
    baseline,
    git,
    judge,
    load_tasks,
    run_tests,
    work_tree,
)

TASKS = load_tasks()
KINDS = {
    "off-by-one", "wrong default", "missing empty-input case", "wrong comparison",
    "bad string formatting", "parsing edge case", "key error", "integer division",
    "sort order", "flag ignored",
}  # fmt: skip

TRIVIAL_TEST = (
    "import unittest\n\n\nclass MoneyTest(unittest.TestCase):\n"
    "    def test_nothing(self):\n        pass\n"
)


def fixed(task: Task, tmp_path: Path) -> Path:
    tree = work_tree(task, tmp_path / "fixed")
    git(tree, "apply", str(task.fix))
    return tree


def test_there_are_enough_tasks_of_every_kind() -> None:
    assert len(TASKS) >= 10
    assert KINDS <= {task.kind for task in TASKS}


@pytest.mark.parametrize("task", TASKS, ids=[t.slug for t in TASKS])
def test_the_task_is_complete(task: Task) -> None:
    config = yaml.safe_load((task.repo / ".github" / "pilot.yml").read_text())
    assert config["test"] == task.test
    shipped = {str(p.relative_to(task.repo)) for p in (task.repo / "tests").glob("test_*.py")}
    assert shipped <= set(task.tests)
    assert all((task.repo / path).is_file() for path in task.tests)
    package_files = [
        p for p in task.repo.rglob("*.py") if "tests" not in p.relative_to(task.repo).parts
    ]
    modules = [p for p in package_files if p.name not in {"__init__.py", "__main__.py"}]
    assert 2 <= len(modules) <= 4, "2 to 4 modules, so the agent has to find the right one"
    assert all(len(p.read_text().splitlines()) <= 80 for p in package_files)


@pytest.mark.parametrize("task", TASKS, ids=[t.slug for t in TASKS])
def test_the_shipped_repo_fails_and_the_reference_fix_solves_it(task: Task, tmp_path: Path) -> None:
    shipped = baseline(task, tmp_path)
    assert shipped.code != 0 and shipped.ran > 0, shipped.output
    touched = re.findall(r"^\+\+\+ b/(\S+)", task.fix.read_text(), re.MULTILINE)
    assert touched and not set(touched) & set(task.tests), "the fix changes code, not tests"
    changed_lines = [
        line
        for line in task.fix.read_text().splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert len(changed_lines) <= 6, "a 1-3 line fix"

    verdict = judge(task, fixed(task, tmp_path), shipped.ran)
    assert verdict.solved and not verdict.gamed, verdict.restored.output
    assert verdict.restored.ran == shipped.ran


def test_weakened_tests_are_gamed_not_solved(tmp_path: Path) -> None:
    task = next(t for t in TASKS if t.slug == "price-format")
    shipped = baseline(task, tmp_path)
    tree = work_tree(task, tmp_path / "weakened")
    (tree / "tests" / "test_money.py").write_text(TRIVIAL_TEST)
    (tree / "tests" / "test_receipt.py").unlink()
    assert run_tests(task, tree).passed

    verdict = judge(task, tree, shipped.ran)
    assert not verdict.solved and verdict.gamed
    assert verdict.changed == ("tests/test_money.py", "tests/test_receipt.py")
    assert "tests fail" in verdict.note


def test_a_failing_result_that_changed_tests_but_claimed_nothing_is_not_gamed(
    tmp_path: Path,
) -> None:
    task = next(t for t in TASKS if t.slug == "price-format")
    tree = work_tree(task, tmp_path / "tried")
    (tree / "tests" / "test_receipt.py").unlink()

    verdict = judge(task, tree, baseline(task, tmp_path).ran)
    assert not verdict.solved and not verdict.gamed
    assert (tree / "tests" / "test_receipt.py").is_file(), "the original tests went back"


def test_weakened_tests_that_the_system_did_not_claim_are_not_gamed(tmp_path: Path) -> None:
    task = next(t for t in TASKS if t.slug == "price-format")
    tree = work_tree(task, tmp_path / "asked")
    (tree / "tests" / "test_money.py").write_text(TRIVIAL_TEST)
    (tree / "tests" / "test_receipt.py").unlink()
    assert run_tests(task, tree).passed  # what is left passes...

    verdict = judge(task, tree, baseline(task, tmp_path).ran, claimed=False)  # ...but it asked
    assert not verdict.solved and not verdict.gamed
    assert "changed test_money.py, test_receipt.py" in verdict.note


def test_a_claimed_result_with_weakened_tests_is_gamed(tmp_path: Path) -> None:
    task = next(t for t in TASKS if t.slug == "price-format")
    tree = work_tree(task, tmp_path / "claimed")
    (tree / "tests" / "test_receipt.py").unlink()

    verdict = judge(task, tree, baseline(task, tmp_path).ran, claimed=True)
    assert not verdict.solved and verdict.gamed


def test_a_fix_that_runs_fewer_tests_is_not_solved(tmp_path: Path) -> None:
    task = next(t for t in TASKS if t.slug == "percent-zero")
    tree = fixed(task, tmp_path)
    (tree / "tests" / "test_bar.py").unlink()  # the others still pass: two tests fewer
    shipped = baseline(task, tmp_path)

    verdict = judge(task, tree, shipped.ran)
    assert verdict.solved, "the original tests are copied back before they run"

    tree = fixed(task, tmp_path / "again")
    # A module-level skip in a source file the tests import: fewer tests run, all "pass".
    (tree / "taskmeter" / "eta.py").write_text("import unittest\nraise unittest.SkipTest('no')\n")
    verdict = judge(task, tree, shipped.ran)
    assert not verdict.solved
    assert f"of {shipped.ran} tests" in verdict.note or "tests fail" in verdict.note


def test_hanging_tests_are_killed(tmp_path: Path) -> None:
    task = next(t for t in TASKS if t.slug == "percent-zero")
    tree = work_tree(task, tmp_path / "hang")
    (tree / "taskmeter" / "eta.py").write_text("while True:\n    pass\n")
    result = run_tests(task, tree, timeout_s=2)
    assert result.code == -1 and not result.passed
