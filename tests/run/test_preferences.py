"""`issue-pilot export-preferences` (bot/run/preferences.py): pairs from recorded runs, checked
against the conversational preference format TRL's DPOTrainer reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.agent.loop import AgentLimits, Deadline, TokenBudget, run_node
from bot.agent.requirements import Requirement, RequirementTree
from bot.agent.task import NodeTask
from bot.agent.trajectory import Trajectory
from bot.cli import main
from bot.run.outcomes import ci_reward, weakened_tests_reward
from bot.run.preferences import completion_text, export_preferences, parse_since
from tests.agent.test_agent import FakeLLM, FakeSandbox, call, finish, reply

SYSTEM = {"role": "system", "content": "You are a developer."}
USER = {"role": "user", "content": "Add greet()."}


def check_trl_row(row: dict[str, Any]) -> None:
    """TRL's conversational preference type (docs: "Dataset formats and types"): exactly
    `prompt`, `chosen`, `rejected`, each a list of {role, content} messages; the prompt
    opens with an optional system message, then user and assistant alternate and it ends
    with the user's turn; chosen and rejected are the assistant's turns; every content a
    non-empty string."""
    assert set(row) == {"prompt", "chosen", "rejected"}, row.keys()
    for column in ("prompt", "chosen", "rejected"):
        messages = row[column]
        assert isinstance(messages, list) and messages, column
        for message in messages:
            assert set(message) == {"role", "content"}, message
            assert isinstance(message["content"], str) and message["content"].strip(), message
    roles = [m["role"] for m in row["prompt"]]
    turns = roles[1:] if roles[0] == "system" else roles
    assert turns and "system" not in turns, roles
    expected = ["user" if i % 2 == 0 else "assistant" for i in range(len(turns))]
    assert turns == expected and turns[-1] == "user", roles
    for column in ("chosen", "rejected"):
        assert [m["role"] for m in row[column]] == ["assistant"] * len(row[column]), column
    assert row["chosen"] != row["rejected"]


def candidate(node: str, index: int, reward: float, content: str, chosen: bool) -> dict[str, Any]:
    """A `candidate` record as issue 16's shared format has it."""
    return {
        "kind": "candidate",
        "node": node,
        "candidate": index,
        "reward": reward,
        "score": {"tests_pass": reward > 0, "failing": 0, "syntax_ok": True, "diff_lines": 3},
        "chosen": chosen,
        "prompt": [SYSTEM, USER],
        "messages": [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": f"c{index}",
                        "type": "function",
                        "function": {
                            "name": "write_file",
                            "arguments": json.dumps({"path": "greet.py", "content": content}),
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": f"c{index}", "content": "wrote greet.py"},
        ],
        "diff": f"+{content}",
        "summary": "wrote greet",
    }


async def ci_fix(trajectory: Trajectory, node_id: str, content: str) -> None:
    """One CI fix pass of the real agent loop, which leaves its conversation in `node_end`."""
    node = Requirement(node_id, "Make CI pass", "CI failed.", ["`tests` passes"])
    task = NodeTask(7, "Greeting", "Add greet.", node, RequirementTree([]), "1 file.")
    llm = FakeLLM(
        reply(call("write_file", {"path": "greet.py", "content": content}), content="Fixing."),
        finish(f"wrote {content}"),
    )
    limits, budget = AgentLimits(), TokenBudget(None)
    await run_node(llm, FakeSandbox(), task, limits, budget, Deadline.unlimited(), trajectory)


async def test_an_export_from_recorded_runs_gives_valid_pairs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with Trajectory(runs / "o__r__issue-7") as trajectory:
        trajectory.record(**candidate("R1", 0, -0.5, "broken(", False))
        trajectory.record(**candidate("R1", 1, 1.0, "def greet(): ...", True))
        trajectory.record(**candidate("R1", 2, 1.0, "def greet(): pass", False))
        trajectory.record(**ci_reward("sha0", False, ["tests"], None).record("o/r#7", 10.0))
        await ci_fix(trajectory, "ci-1", "print(1)")
        trajectory.record(**ci_reward("sha1", False, ["tests", "lint"], "ci-1").record("r", 20.0))
        await ci_fix(trajectory, "ci-2", "def greet(): return 'hi'")
        trajectory.record(**ci_reward("sha2", True, [], "ci-2").record("o/r#7", 30.0))
    with Trajectory(runs / "o__r__issue-8") as trajectory:  # one candidate: no pair
        trajectory.record(**candidate("R1", 0, 1.0, "x = 1", True))
    (runs / "o__r__issue-8" / "trajectory.jsonl").open("a").write('{"kind": "cand')
    out = tmp_path / "prefs.jsonl"

    assert main(["export-preferences", "--runs-dir", str(runs), "--out", str(out)]) == 0

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    for row in rows:
        check_trl_row(row)
    # R1: 1.0 over -0.5 twice; the two equal rewards make no pair. CI: ci-2 over ci-1.
    assert len(rows) == 3
    from_tree, from_ci = rows[:2], rows[2]
    assert all("broken(" in row["rejected"][0]["content"] for row in from_tree)
    assert {row["prompt"][-1]["content"] for row in from_tree} == {"Add greet()."}
    assert "return 'hi'" in from_ci["chosen"][0]["content"]
    assert "print(1)" in from_ci["rejected"][0]["content"]
    assert [m["role"] for m in from_ci["prompt"]] == ["system", "user"]
    assert "Make CI pass" in from_ci["prompt"][1]["content"]
    # The tools' answers are the environment's: never in a completion.
    assert all("wrote greet.py" not in row["chosen"][0]["content"] for row in rows)

    later = tmp_path / "later.jsonl"
    since = parse_since("2999-01-01")
    assert export_preferences(runs, since, later) == {"candidates": 0, "ci": 0}
    assert later.read_text() == ""


async def test_a_ci_fix_green_by_weakening_the_tests_is_never_chosen(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with Trajectory(runs / "o__r__issue-9") as trajectory:
        await ci_fix(trajectory, "ci-1", "print(1)")
        trajectory.record(**ci_reward("sha1", False, ["tests"], "ci-1").record("r", 20.0))
        await ci_fix(trajectory, "ci-2", "# tests deleted")
        trajectory.record(**ci_reward("sha2", True, [], "ci-2").record("r", 30.0))
        trajectory.record(**weakened_tests_reward("sha2", ["test_greet removed"]).record("r", 31.0))
    assert export_preferences(runs, 0.0, tmp_path / "prefs.jsonl") == {"candidates": 0, "ci": 0}


def test_tool_calls_become_text_in_order() -> None:
    messages = [
        {"role": "assistant", "content": "Look first.", "tool_calls": [
            {"function": {"name": "run_command", "arguments": '{"command": "ls"}'}},
        ]},
        {"role": "tool", "tool_call_id": "a", "content": "greet.py"},
        {"role": "user", "content": "You did not call a tool."},
        {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "finish", "arguments": "{not json"}},
        ]},
    ]  # fmt: skip
    text = completion_text(messages)
    assert text == (
        "Look first.\n<tool_call>\n"
        '{"name": "run_command", "arguments": {"command": "ls"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "finish", "arguments": "{not json"}\n</tool_call>'
    )


def test_a_date_without_a_zone_is_utc() -> None:
    assert parse_since("1970-01-02") == 86400.0
    assert parse_since("1970-01-01T01:00:00+01:00") == 0.0
