"""Noticing a stuck agent (bot/agent/stuck.py): only the same call failing the same way counts."""

from __future__ import annotations

import json

import pytest

from bot.agent.stuck import ASK_AT, NUDGE_AT, StuckWatch, failed

EDIT = json.dumps({"path": "a.py", "old": "x = 1", "new": "x = 2"})
MISS = "Error: edit_file: `old` was not found in a.py."


@pytest.mark.parametrize(
    ("observation", "is_failure"),
    [
        ("Error: a.py: no such file", True),
        ("Not finished: you have not changed any file yet", True),
        ("timed out (killed) after 30.0s\n(no output)", True),
        ("exit code 1 after 0.3s\nFAILED", True),
        ("exit code 127 after 0.0s\nbash: foo: command not found", True),
        ("exit code 0 after 0.3s\nok", False),
        ("Edited a.py. Lines 1-1 now read:\n1| x = 2", False),
        ("Wrote a.py (5 bytes).\nWarning: a.py no longer parses: invalid syntax", False),
        ("The output says: Error: something", False),
    ],
)
def test_what_counts_as_a_failure(observation: str, is_failure: bool) -> None:
    assert failed(observation) is is_failure


def test_the_same_failure_nudges_at_three_and_asks_at_four() -> None:
    assert (NUDGE_AT, ASK_AT) == (3, 4)
    watch = StuckWatch()
    verdicts = [watch.see("edit_file", EDIT, MISS) for _ in range(5)]
    assert verdicts == ["ok", "ok", "nudge", "ask", "ask"]


def test_argument_order_and_spacing_do_not_make_a_call_new() -> None:
    watch = StuckWatch()
    shuffled = json.dumps({"new": "x = 2", "path": "a.py", "old": "x = 1"}, indent=2)
    assert watch.see("edit_file", EDIT, MISS) == "ok"
    assert watch.see("edit_file", shuffled, MISS) == "ok"
    assert watch.see("edit_file", EDIT, MISS) == "nudge"


def test_timings_do_not_make_a_failure_new() -> None:
    watch = StuckWatch()
    run = json.dumps({"command": "pytest -q"})
    outputs = [f"exit code 1 after {t}s\n1 failed in {t}s" for t in ("0.4", "0.5", "0.7")]
    assert [watch.see("run_command", run, out) for out in outputs] == ["ok", "ok", "nudge"]


def test_a_call_failing_differently_each_time_is_progress() -> None:
    watch = StuckWatch()
    run = json.dumps({"command": "pytest -q"})
    verdicts = [
        watch.see("run_command", run, f"exit code 1 after 0.5s\n{n} failed") for n in (5, 4, 3, 2)
    ]
    assert verdicts == ["ok"] * 4


def test_successes_and_other_calls_do_not_count() -> None:
    watch = StuckWatch()
    other = json.dumps({"path": "b.py", "old": "x = 1", "new": "x = 2"})
    assert watch.see("edit_file", EDIT, MISS) == "ok"
    assert watch.see("edit_file", other, MISS) == "ok"
    assert watch.see("read_file", json.dumps({"path": "a.py"}), "a.py (1 lines)") == "ok"
    assert watch.see("edit_file", EDIT, MISS) == "ok"
    assert watch.see("write_file", EDIT, MISS) == "ok"  # another tool, the same words
    assert watch.see("edit_file", EDIT, MISS) == "nudge"


def test_malformed_arguments_are_compared_as_text() -> None:
    watch = StuckWatch()
    verdicts = [watch.see("run_command", " {oops", "Error: not valid JSON") for _ in range(3)]
    assert verdicts == ["ok", "ok", "nudge"]
    assert watch.see("run_command", "{oops ", "Error: not valid JSON") == "ask"
