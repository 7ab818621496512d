"""What the demo prints: the live frame, the log lines and the verdict."""

from __future__ import annotations

from typing import Any

from bot.core.feed import RunSummary
from bot.dev.display import event_lines, frame, settled, verdict


def summary(phase: str, **fields: Any) -> RunSummary:
    base: dict[str, Any] = {
        "run_id": "alice__textkit__issue-1",
        "repo": "alice/textkit",
        "issue": 1,
        "title": "slugify keeps punctuation",
        "phase": phase,
        "headline": "Working on **R1**.",
        "requested_by": "alice",
        "started_at": 0.0,
        "updated_at": 1.0,
    }
    return RunSummary(**{**base, **fields})


STEP = {
    "kind": "step",
    "node": "R1",
    "step": 2,
    "actions": [
        {"tool": "run_command", "command": "python3 -m unittest", "output": "exit code 1\nFAIL"},
        {"tool": "write_file", "path": "textkit/slug.py", "bytes": 120, "output": "Wrote it."},
    ],
}


def test_the_frame_shows_the_tree_the_steps_and_the_ci_attempts() -> None:
    tree = [
        {"id": "R1", "title": "Fix slugify", "status": "done"},
        {"id": "R2", "title": "Document it", "status": "in_progress"},
    ]
    history = [{"sha": "abcdef123", "failing": 1, "names": ["Unit tests"]}]
    shown = summary(
        "await_ci", tree=tree, steps=5, tokens_used=1234, token_limit=400000,
        ci_attempt=2, ci_max=3, ci_history=history,
    )  # fmt: skip

    lines = frame(shown, [STEP], 75.0)

    assert lines[0].startswith("[1:15] alice/textkit#1: slugify keeps punctuation")
    assert "  [x] R1 Fix slugify" in lines and "  [~] R2 Document it" in lines
    assert "  R1 step 2: run_command python3 -m unittest → exit code 1" in lines
    assert "  R1 step 2: write_file textkit/slug.py → Wrote it." in lines
    assert "tokens: 1,234 of 400,000 · CI attempt 2 of 3" in lines
    assert "  CI on abcdef1: red, failing: Unit tests" in lines


def test_before_the_bot_answers_the_frame_says_it_waits() -> None:
    assert frame(None, [], 3.0) == ["[0:03] waiting for the bot to pick up the label…"]


def test_lines_stay_within_the_width() -> None:
    long = {**STEP, "actions": [{"tool": "run_command", "command": "x" * 500, "output": "y"}]}
    assert all(len(line) <= 60 for line in event_lines(long, width=60))


def test_timeline_events_make_log_lines() -> None:
    assert event_lines({"kind": "plan", "submitted": True, "problems": []}) == ["plan submitted"]
    from_issue = event_lines({"kind": "plan", "from_issue": True, "problems": []})
    assert from_issue == ["plan: the issue itself, as one requirement"]
    refused = event_lines({"kind": "plan", "submitted": True, "problems": ["cycle R1 → R1"]})
    assert refused == ["plan refused: cycle R1 → R1"]
    ci = event_lines({"kind": "ci", "sha": "0123456789", "state": "red", "failing": ["lint"]})
    assert ci == ["CI on 0123456: red (failing: lint)"]
    assert event_lines({"kind": "timing", "phase": "push", "ms": 3}) == []
    draft = {"kind": "draft", "node": "R1", "draft": 2, "verdict": "tests still fail:\nFAIL"}
    assert event_lines(draft) == ["R1 draft 2: tests still fail:"]
    assert event_lines({"kind": "draft", "node": "R1", "skipped": "the tests already pass"}) == []


def test_a_run_rests_when_only_a_person_can_move_it() -> None:
    assert not settled(None)
    assert not settled(summary("execute")) and not settled(summary("await_ci"))
    assert settled(summary("ready")) and settled(summary("asked")) and settled(summary("failed"))


def test_the_verdict_says_what_became_of_the_issue() -> None:
    ready = verdict(summary("ready", pr_number=2, ci_attempt=1, ci_max=2), 65, False)
    assert ready.solved
    assert ready.line == "Verdict: solved in 1:05: PR #2 is ready (CI green on attempt 1 of 2)."

    asked = verdict(summary("asked", question="Which regex?"), 90, True)
    assert not asked.solved
    assert "expected with the embedded 135M model" in asked.line and "Which regex?" in asked.line

    failed = verdict(summary("failed", error="the sandbox failed"), 5, False)
    assert failed.line == "Verdict: the run failed in 0:05: the sandbox failed"
    assert "never picked up" in verdict(None, 30, False).line
    assert "still execute" in verdict(summary("execute"), 1800, False).line


def test_escape_sequences_from_the_sandbox_never_reach_the_terminal() -> None:
    hostile = {
        **STEP,
        "actions": [{"tool": "run_command", "command": "x", "output": "\x1b[2J\x07ok"}],
    }
    [line] = event_lines(hostile)
    assert "\x1b" not in line and "\x07" not in line and line.endswith("→ [2Jok")
