from __future__ import annotations

from pathlib import Path

import pytest

from bot.agent.trajectory import Trajectory, read_trajectory, request_digest


def test_records_are_json_lines_flushed_at_once(tmp_path: Path) -> None:
    directory = tmp_path / "runs" / "r1"
    trajectory = Trajectory(directory)
    trajectory.record(kind="step", node="R1", tokens={"prompt": 3})
    # readable before close: a killed worker keeps what was written
    assert read_trajectory(directory) == [
        {
            "ts": read_trajectory(directory)[0]["ts"],
            "kind": "step",
            "node": "R1",
            "tokens": {"prompt": 3},
        }
    ]
    trajectory.record(kind="step", binary="\udcff", path=Path("/x"))
    trajectory.close()
    trajectory.close()
    records = read_trajectory(directory / "trajectory.jsonl")
    assert [r["kind"] for r in records] == ["step", "step"] and records[1]["path"] == "/x"


def test_appends_across_instances_and_refuses_after_close(tmp_path: Path) -> None:
    with Trajectory(tmp_path) as first:
        first.record(kind="plan")
    with Trajectory(tmp_path) as second:
        second.record(kind="step")
    assert [r["kind"] for r in read_trajectory(tmp_path)] == ["plan", "step"]
    with pytest.raises(ValueError):
        second.record(kind="late")


def test_request_digest_is_short_and_stable() -> None:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "t"}]
    digest = request_digest(messages)
    assert digest["messages"] == 2 and len(digest["sha256"]) == 64
    assert request_digest(list(messages)) == digest
    assert request_digest([*messages, {"role": "user", "content": "u"}]) != digest
