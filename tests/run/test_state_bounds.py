from __future__ import annotations

from typing import Any

from bot.core.comment_json import json_chars
from bot.core.snapshot import IssueSnapshot
from bot.github.status_comment import MAX_STATUS_CHARS, parse_state
from bot.run.host import IssueRef, RunTarget
from bot.run.issue_text import CUT_NOTE, from_snapshot
from bot.run.report import status_report
from bot.run.state import LocalCheck, Phase, RunState
from bot.run.state_bounds import ANSWER_CHARS, STATE_CHARS, bounded, status_body

CJK_ANSWER = "A person answered: " + "日本語で答えます。" * 1334  # about 12,000 characters
SHA = "0123456789abcdef0123456789abcdef01234567"


def _body(state: RunState) -> str:
    return status_body(state, status_report(state, "/pilot", 200_000, ci_max=3))


def _tree(nodes: int, text: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"R{i}",
            "title": "t" * min(text, 200),
            "status": "done" if i % 2 else "pending",
            "depends_on": [f"R{i - 1}"] if i else [],
            "acceptance": ["a" * min(text, 500)] * 10,
            "description": "d" * min(text, 2000),
        }
        for i in range(nodes)
    ]


def _review_notes(comments: int) -> list[str]:
    hunk = "@@ -1,2 +1,2 @@\n-def add(a, b):\n+def add(a, b):  # 足す\n"
    said = "この関数の名前を変えてください。" * 120
    return ["@bob reviewed (changes_requested): please look"] + [
        f"Line comment {n} on `calc.py` line 1:\n```diff\n{hunk}\n```\n{said}"
        for n in range(comments)
    ]


def _busy_state() -> RunState:
    return RunState(
        issue=7,
        requested_by="alice",
        phase=Phase.EXECUTE,
        branch="pilot/issue-7-fix-add",
        base_branch="main",
        pr_number=12,
        pr_url="https://github.test/o/r/pull/12",
        head_sha=SHA,
        ci_sha=SHA,
        prompt_tokens=1234,
        completion_tokens=567,
        steps=9,
        ci_attempt=2,
        iterations=3,
        attempt=2,
        tree=_tree(3, 300),
        answers={"R1": [CJK_ANSWER]},
        handled=[f"cmd:{n}" for n in range(50)],
        snapshot={"title": "Fix add", "body": "足し算" * 3000, "sha256": "f" * 64},
        working={
            "node": "review-5",
            "title": "Address @bob's review",
            "description": "A reviewer asked for changes.",
            "acceptance": ["every review comment is addressed"],
            "notes": _review_notes(80),
            "park_as": "review",
            "restore_to": None,
        },
    )


def _engine_fields(data: dict[str, Any]) -> dict[str, Any]:
    keys = ("phase", "branch", "pr_number", "head_sha", "ci_sha", "prompt_tokens", "steps")
    tree = [(n["id"], n["status"], n["depends_on"]) for n in data.get("tree") or []]
    snapshot = (data.get("snapshot") or {}).get("sha256")
    return {**{k: data.get(k) for k in keys}, "tree": tree, "snapshot": snapshot}


def test_a_12k_cjk_answer_and_an_80_comment_review_fit_and_the_engine_loses_nothing() -> None:
    state = _busy_state()
    body = _body(state)
    assert len(body) <= MAX_STATUS_CHARS
    saved = parse_state(body)
    assert saved is not None
    assert _engine_fields(saved) == _engine_fields(state.to_dict())
    again = RunState.from_dict(saved)
    assert again.handled == state.handled and again.attempt == 2 and again.iterations == 3
    [answer] = again.answers["R1"]
    assert answer.startswith("A person answered: 日本語") and answer.endswith("答えます。")
    assert "characters cut" in answer and json_chars(answer) <= ANSWER_CHARS
    assert again.working is not None
    notes = again.working["notes"]
    assert notes[0].startswith("@bob reviewed") and "more note(s) cut" in notes[-1]


def test_a_small_state_is_kept_as_it_is() -> None:
    state = RunState(3, "alice", Phase.AWAIT_CI, answers={"R1": ["use +"]}, tree=_tree(2, 50))
    state.check = LocalCheck("pytest -q", 1, False, "1 failed")
    assert bounded(state.to_dict()) == state.to_dict()


def test_the_newest_answers_stay_whole_and_the_oldest_go_first() -> None:
    answers = {"R1": [f"answer {n}: " + "x" * 3000 for n in range(6)], "R2": ["latest"]}
    data = bounded(RunState(3, "a", answers=answers).to_dict())
    kept = data["answers"]
    assert kept["R2"] == ["latest"]
    assert kept["R1"][-1] == answers["R1"][-1] and kept["R1"][-2] == answers["R1"][-2]
    assert kept["R1"][0].startswith("(") and "earlier answer(s) cut" in kept["R1"][0]
    assert not any(a.startswith("answer 0") for a in kept["R1"])


def test_ci_history_keeps_its_last_attempts_and_the_best_one() -> None:
    history = [{"sha": f"{n:040x}", "failing": 5, "names": ["unit"]} for n in range(40)]
    history[3]["failing"] = 1
    data = bounded(RunState(3, "a", ci_history=history).to_dict())
    kept = data["ci_history"]
    assert len(kept) == 20 and kept[0] == history[3] and kept[-1] == history[-1]


def test_the_test_guards_findings_are_capped_and_its_confirmations_kept_whole() -> None:
    path = "tests/" + "deep/" * 200 + "test_x.py"
    found = [
        {"kind": "tests_removed", "path": path, "detail": path, "key": f"k:{n}"} for n in range(60)
    ]
    guard = {"findings": found, "confirmed": [f"tests_removed:{n:012x}" for n in range(9)]}
    data = bounded(RunState(3, "a", test_guard=guard).to_dict())
    kept = data["test_guard"]
    assert len(kept["findings"]) == 20
    assert all(len(f["path"]) <= 300 and len(f["detail"]) <= 300 for f in kept["findings"])
    assert kept["findings"][0]["key"] == "k:0" and kept["confirmed"] == guard["confirmed"]


def test_a_long_issue_keeps_its_hash_and_says_it_was_cut() -> None:
    snapshot = {"title": "t", "body": "長い" * 20_000, "sha256": "e" * 64, "hidden": 0}
    data = bounded(RunState(3, "a", snapshot=snapshot).to_dict())
    assert data["snapshot"]["sha256"] == "e" * 64 and data["snapshot"]["cut"] is True
    assert json_chars(data["snapshot"]["body"]) <= 15_000


def test_nothing_people_write_takes_the_comment_over_the_limit() -> None:
    dashes = "-" * 10_000  # six characters each once escaped
    state = _busy_state()
    state.tree = _tree(20, 5000)
    state.answers = {f"R{n}": [dashes + CJK_ANSWER] * 5 for n in range(20)}
    state.question = dashes * 3
    state.error = CJK_ANSWER * 3
    state.check = LocalCheck("pytest " + dashes, 1, False, dashes)
    state.ci_history = [{"sha": SHA, "failing": n, "names": [dashes] * 30} for n in range(60)]
    state.pending_edit = {"title": dashes, "body": dashes * 6, "sha256": "d" * 64, "by": "x"}
    state.snapshot = {"title": dashes, "body": CJK_ANSWER * 5, "sha256": "c" * 64}
    state.hold = {"state": "held", "why": dashes, "outsiders": [dashes] * 50}
    state.parked = {"kind": "review", "node": "review-5", "title": dashes}
    state.handled = [f"review:{n}:{dashes}" for n in range(50)]
    assert json_chars(state.to_dict()) > 10 * MAX_STATUS_CHARS
    body = _body(state)
    assert len(body) <= MAX_STATUS_CHARS
    saved = parse_state(body)
    assert saved is not None and json_chars(saved) <= STATE_CHARS
    assert _engine_fields(saved) == _engine_fields(state.to_dict())
    assert saved["pending_edit"]["sha256"] == "d" * 64
    again = RunState.from_dict(saved)
    assert again.phase is Phase.EXECUTE and again.pr_number == 12


def test_a_cut_issue_is_read_whole_from_github_while_its_hash_matches() -> None:
    title, body = "Fix add", "まず" + "長い説明。" * 10_000 + "最後の一文。"
    snapshot = IssueSnapshot.take(title, body)
    assert snapshot.cut
    state = RunState(3, "a", snapshot=snapshot.to_dict())
    target = RunTarget("k", "url", "main", IssueRef(3, title, body))
    assert from_snapshot(state, target).issue.body == body
    edited = RunTarget("k", "url", "main", IssueRef(3, title, body + " (edited)"))
    shown = from_snapshot(state, edited).issue.body
    assert shown == snapshot.body + CUT_NOTE and "最後の一文" not in shown
