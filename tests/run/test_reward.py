"""The candidates' reward (bot/run/reward.py): test summaries read, diffs measured, weights."""

from __future__ import annotations

import pytest

from bot.run.reward import Score, diff_lines, diff_paths, failing_tests, reward, score, syntax_ok

UNITTEST_FAILED = """\
F.E
======================================================================
FAIL: test_b (test_x.T.test_b)
----------------------------------------------------------------------
Ran 3 tests in 0.002s

FAILED (failures=2, errors=1)
"""
UNITTEST_OK = "...\n------\nRan 3 tests in 0.001s\n\nOK\n"
PYTEST_FAILED = "test_x.py .F.\n=========== 2 failed, 3 passed, 1 warning in 0.12s ===========\n"
PYTEST_QUIET = "..F\nFAILED test_x.py::test_c\n1 failed, 1 error, 2 passed in 0.40s\n"
PYTEST_OK = "==== 5 passed in 0.02s ====\n"

PATCH = """\
diff --git a/pkg/a.py b/pkg/a.py
index 1111111..2222222 100644
--- a/pkg/a.py
+++ b/pkg/a.py
@@ -1,2 +1,2 @@
-x = 1
+x = 2
 y = 3
diff --git a/old name.txt b/new name.txt
similarity index 90%
rename from old name.txt
rename to new name.txt
diff --git "a/caf\\303\\251.py" "b/caf\\303\\251.py"
new file mode 100644
--- /dev/null
+++ "b/caf\\303\\251.py"
@@ -0,0 +1 @@
+print('hi')
"""


@pytest.mark.parametrize(
    ("output", "failing"),
    [
        (UNITTEST_FAILED, 3),
        (UNITTEST_OK, 0),
        (PYTEST_FAILED, 2),
        (PYTEST_QUIET, 2),
        (PYTEST_OK, 0),
        ("make: *** [test] Error 2\n", None),
    ],
)
def test_failing_tests_reads_unittest_and_pytest_summaries(
    output: str, failing: int | None
) -> None:
    assert failing_tests(output) == failing


def test_every_summary_counts() -> None:
    # `pytest tests/unit && python -m unittest`: both runs' failures are the candidate's.
    assert failing_tests(PYTEST_FAILED + UNITTEST_OK) == 2
    assert failing_tests(PYTEST_FAILED + UNITTEST_FAILED) == 5


def test_diff_lines_and_paths() -> None:
    assert diff_lines(PATCH) == 3
    assert diff_paths(PATCH) == ["pkg/a.py", "old name.txt", "new name.txt", "café.py"]


def test_syntax_ok_compiles_only_python_and_runs_nothing() -> None:
    assert syntax_ok({"a.py": b"x = 1\n", "notes.txt": b"def (:\n"})
    assert not syntax_ok({"a.py": b"def broken(:\n"})
    assert not syntax_ok({"a.py": b"x = 1\0\n"})
    assert syntax_ok({"a.py": b"raise SystemExit('compiling must not run this')\n"})


def test_score_reads_the_test_run() -> None:
    assert score(1, PYTEST_FAILED, {}, PATCH) == Score(False, 2, True, 3)
    assert score(0, "all good\n", {}, "") == Score(True, 0, True, 0)
    assert score(None, "Killed\n", {}, "") == Score(False, None, True, 0)  # a time-out fails
    assert score(None, None, {"a.py": b"def (:"}, "") == Score(None, None, False, 0)


def test_passing_tests_outweigh_everything_else() -> None:
    passing_but_big = reward(Score(True, 0, True, 5000))
    failing_but_small = reward(Score(False, 0, True, 1))
    assert passing_but_big > failing_but_small


def test_fewer_failures_then_syntax_then_size_decide() -> None:
    assert reward(Score(False, 1, True, 10)) > reward(Score(False, 4, True, 10))
    assert reward(Score(False, 1, True, 10)) > reward(Score(False, 1, False, 10))
    assert reward(Score(True, 0, True, 10)) > reward(Score(True, 0, True, 400))
    assert reward(Score(None, None, True, 10)) > reward(Score(False, None, True, 10))


def test_rewards_stay_in_zero_to_one() -> None:
    best = reward(Score(True, 0, True, 0))
    worst = reward(Score(False, 10**6, False, 10**6))
    assert best == 1.0 and 0.0 <= worst < 0.01
