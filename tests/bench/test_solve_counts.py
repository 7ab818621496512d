"""What bench/solve.py reads from each system's records (tokens, how it ended) and the options
it takes: pure parts, no model and no stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.solve import parse_args, summary
from bench.solve_judge import Result
from bench.solve_ours import run_tokens, trajectory_tokens
from bench.solve_peers import aider_tokens, mini_exit, mini_tokens
from bot.core.feed import RunSummary


def test_aider_tokens_add_up_every_exchange() -> None:
    output = (
        "Tokens: 1.4k sent, 476 received.\n"
        "Applied edit to till/money.py\n"
        "Tokens: 2.1k sent, 1k received. Cost: $0.00 message, $0.00 session.\n"
    )
    assert aider_tokens(output) == 1400 + 476 + 2100 + 1000
    assert aider_tokens("Model: openai/x with whole edit format\n") is None


def test_mini_tokens_and_exit_from_its_trajectory(tmp_path: Path) -> None:
    trajectory = tmp_path / "traj.json"
    call = {"usage": {"prompt_tokens": 855, "completion_tokens": 50}}
    trajectory.write_text(
        json.dumps(
            {
                "info": {"exit_status": "Submitted"},
                "messages": [
                    {"role": "system", "content": "..."},
                    {"role": "assistant", "extra": {"response": call}},
                    {"role": "user", "content": "<returncode>0</returncode>"},
                    {"role": "assistant", "extra": {"response": call}},
                ],
            }
        )
    )
    assert mini_tokens(trajectory) == 2 * 905
    assert mini_exit(trajectory) == "Submitted"
    assert mini_tokens(tmp_path / "missing.json") is None
    assert mini_exit(tmp_path / "missing.json") == "no trajectory"


def test_our_tokens_count_a_requirement_cut_short(tmp_path: Path) -> None:
    trajectory = tmp_path / "trajectory.jsonl"
    records = [
        {"kind": "timing", "phase": "fetch", "ms": 3},
        {"kind": "plan", "usage": {"prompt_tokens": 1590, "completion_tokens": 430}},
        {"kind": "draft", "draft": 1, "tokens": {"prompt": 1200, "completion": 300}},
        {"kind": "step", "queries": [{"tokens": {"prompt": 4874, "completion": 19}}]},
        {"kind": "step", "queries": []},
    ]
    trajectory.write_text(
        "".join(json.dumps(r) + "\n" for r in records) + '{"kind": "step", "quer'  # being written
    )
    assert trajectory_tokens(trajectory) == 1590 + 430 + 1200 + 300 + 4874 + 19

    stopped = RunSummary.from_json(
        json.dumps(
            {
                "run_id": "r", "repo": "alice/x", "issue": 1, "title": "t", "phase": "stopped",
                "headline": "", "requested_by": "alice", "started_at": 0, "updated_at": 0,
                "tokens_used": 2020,
            }
        )
    )  # fmt: skip
    assert run_tokens(stopped, trajectory) == 1590 + 430 + 1200 + 300 + 4874 + 19
    assert run_tokens(stopped, tmp_path / "none.jsonl") == 2020
    assert run_tokens(None, tmp_path / "none.jsonl") is None


def test_options() -> None:
    args = parse_args(["--systems", "aider, ours", "--tasks", "price-format"])
    assert args.systems == ["ours", "aider"], "always in the bench's own order"
    assert args.tasks == ["price-format"]
    with pytest.raises(SystemExit):
        parse_args(["--systems", "ours,swe-agent"])


def test_the_summary_counts_solved_gamed_and_medians() -> None:
    results = [
        Result("a", "ours", True, False, 100.0, 5000, ""),
        Result("b", "ours", False, True, 300.0, None, "GAMED"),
        Result("c", "ours", False, False, 200.0, 7000, ""),
        Result("a", "mini", False, False, 360.0, 9000, ""),
    ]
    lines = summary(results, ["ours", "mini"], 3)
    assert lines[2].split("|")[1:6] == [
        " ours   ",
        "   1 / 3 ",
        "      200 ",
        "         6,000 ",
        "     1 ",
    ]
    assert "0 / 3" in lines[3]
