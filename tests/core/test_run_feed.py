"""The run feed: what the worker writes about runs for the dashboard and /metrics."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import redis.asyncio as aioredis

from bot.agent.llm import OpenAICompatibleLLM
from bot.core.feed import (
    MAX_EVENTS,
    OUTPUT_CHARS,
    PHASES,
    RETAIN_S,
    RUNS,
    RedisRunFeed,
    RunFeedReader,
    RunSummary,
    events_key,
    feed_event,
)
from bot.dev.scripted_model import ScriptedModel
from bot.run.controller import Controller
from tests.run.test_controller import GREET, R1, harness
from tests.run_fakes import call, plan_call


async def phases(redis: aioredis.Redis) -> dict[str, str]:
    """What /metrics counts runs by phase from."""
    return {k.decode(): v.decode() for k, v in (await redis.hgetall(PHASES)).items()}


def summary(run_id: str, updated_at: float, phase: str = "execute") -> RunSummary:
    return RunSummary(
        run_id=run_id,
        repo="alice/hello",
        issue=3,
        title="Fix it",
        phase=phase,
        headline="Working.",
        requested_by="alice",
        started_at=100.0,
        updated_at=updated_at,
    )


def step_record(output: str) -> dict[str, object]:
    return {
        "ts": 1.5,
        "kind": "step",
        "node": "R1",
        "step": 2,
        "ms": 40,
        "queries": [
            {
                "request": {"sha256": "ab", "messages": 3},
                "response": {
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "name": "run_command",
                            "arguments": json.dumps({"command": "pytest -q"}),
                        },
                        {
                            "id": "c2",
                            "name": "write_file",
                            "arguments": json.dumps({"path": "a.py", "content": "x = 1\n" * 50}),
                        },
                        {"id": "c3", "name": "edit_file", "arguments": "{not json"},
                    ],
                },
                "tokens": {"prompt": 120, "completion": 30},
            }
        ],
        "actions": [
            {"id": "c1", "tool": "run_command", "observation": output},
            {"id": "c2", "tool": "write_file", "observation": "Wrote a.py."},
            {"id": "c3", "tool": "edit_file", "observation": "Your call was not valid JSON."},
        ],
    }


def test_a_step_keeps_commands_and_paths_and_cuts_outputs() -> None:
    shown = feed_event(step_record("E" * 10_000))

    assert shown is not None
    assert shown["kind"] == "step" and shown["node"] == "R1" and shown["tokens"] == 150
    run, write, edit = shown["actions"]
    assert run["tool"] == "run_command" and run["command"] == "pytest -q"
    assert len(run["output"]) < OUTPUT_CHARS + 100 and "characters cut" in run["output"]
    assert write == {"tool": "write_file", "path": "a.py", "bytes": 300, "output": "Wrote a.py."}
    assert "content" not in json.dumps(shown)
    assert edit["tool"] == "edit_file" and "not valid JSON" in edit["output"]


def test_records_the_timeline_does_not_show_are_dropped() -> None:
    assert feed_event({"kind": "ignored", "why": "a repeat"}) is None
    timing = feed_event({"ts": 2.0, "kind": "timing", "phase": "push", "ms": 12.5})
    assert timing == {"ts": 2.0, "kind": "timing", "phase": "push", "ms": 12.5}


async def test_summaries_and_timelines_round_trip_newest_first(redis: aioredis.Redis) -> None:
    feed, reader = RedisRunFeed(redis), RunFeedReader(redis)

    await feed.publish(summary("a__b__issue-1", 10.0))
    await feed.publish(summary("a__b__issue-2", 20.0, phase="await_ci"))
    for n in range(MAX_EVENTS + 5):
        feed.event("a__b__issue-1", {"ts": float(n), "kind": "timing", "phase": "p", "ms": n})
    await feed.flush()

    assert [s.run_id for s in await reader.runs()] == ["a__b__issue-2", "a__b__issue-1"]
    assert (await reader.run("a__b__issue-2")) == summary("a__b__issue-2", 20.0, "await_ci")
    events = (await reader.timeline("a__b__issue-1")).events
    assert len(events) == MAX_EVENTS and events[-1]["ms"] == MAX_EVENTS + 4
    assert len((await reader.timeline("a__b__issue-1", since=MAX_EVENTS + 3)).events) == 2
    assert await phases(redis) == {"a__b__issue-1": "execute", "a__b__issue-2": "await_ci"}
    assert await reader.run("nobody") is None


async def test_a_run_feeds_its_summary_and_steps_as_it_goes(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    docker_api: docker.DockerClient,
    redis: aioredis.Redis,
) -> None:
    script = [
        plan_call(R1),
        call("run_command", command="echo hello from the sandbox"),
        call("write_file", path="greet.py", content=GREET),
        call("finish", summary="greet() added."),
    ]
    h = harness(tmp_path, model, llm, docker_api, None, script)
    h.deps.feed = RedisRunFeed(redis)

    state = await Controller(h.deps, h.host, h.run_id, "alice").run()

    reader = RunFeedReader(redis)
    run = await reader.run(h.run_id)
    assert run is not None
    assert run.phase == state.phase.value == "await_ci"
    assert run.tree[0]["id"] == "R1" and run.done_nodes == 1
    assert run.steps == 3 and run.tokens_used == state.prompt_tokens + state.completion_tokens
    assert run.pr_url == state.pr_url and run.ci_attempt == 1
    events = (await reader.timeline(h.run_id)).events
    kinds = [e["kind"] for e in events]
    assert kinds.index("plan") < kinds.index("node_start") < kinds.index("node_end")
    steps = [e for e in events if e["kind"] == "step"]
    assert steps[0]["actions"][0]["command"] == "echo hello from the sandbox"
    assert "hello from the sandbox" in steps[0]["actions"][0]["output"]


async def test_timeline_numbers_stay_put_when_the_cap_drops_old_events(
    redis: aioredis.Redis,
) -> None:
    feed, reader = RedisRunFeed(redis), RunFeedReader(redis)
    for n in range(MAX_EVENTS + 10):
        feed.event("r", {"ts": float(n), "kind": "timing", "phase": "p", "ms": n})
    await feed.flush()

    whole = await reader.timeline("r")
    assert (whole.first, whole.next, len(whole.events)) == (10, MAX_EVENTS + 10, MAX_EVENTS)
    assert whole.events[0]["ms"] == 10

    for n in range(3):
        feed.event("r", {"ts": 0.0, "kind": "timing", "phase": "new", "ms": 1000 + n})
    await feed.flush()
    new = await reader.timeline("r", since=whole.next)
    assert new.first == whole.next and new.next == whole.next + 3
    assert [e["ms"] for e in new.events] == [1000, 1001, 1002]

    # A page that remembers more than the feed holds (Redis was wiped) sees `next` go back.
    ahead = await reader.timeline("r", since=10_000)
    assert ahead.events == [] and ahead.next == MAX_EVENTS + 13
    assert (await reader.timeline("nobody")).next == 0


async def test_a_timeline_written_without_the_counter_starts_at_zero(
    redis: aioredis.Redis,
) -> None:
    await redis.rpush(events_key("old"), json.dumps({"kind": "resume"}), json.dumps({"kind": "x"}))
    old = await RunFeedReader(redis).timeline("old", since=1)
    assert (old.first, old.next, old.events) == (1, 2, [{"kind": "x"}])


async def test_runs_whose_summaries_expired_leave_the_index_and_the_phases(
    redis: aioredis.Redis,
) -> None:
    feed = RedisRunFeed(redis)
    now = 1_000_000_000.0
    await feed.publish(summary("old", now - RETAIN_S - 60, phase="await_ci"))
    await feed.publish(summary("recent", now - 60))

    await feed.publish(summary("new", now))

    assert await phases(redis) == {"recent": "execute", "new": "execute"}
    assert await redis.zrange(RUNS, 0, -1) == [b"recent", b"new"]
