"""Runs as the worker would feed them, for the dashboard's tests."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis
from pydantic import SecretStr

from bot.core.feed import RedisRunFeed, RunSummary
from bot.core.settings import Settings

TOKEN = "dashboard-test-token-5d1c9e"
RUN_ID = "alice__hello__issue-3"
ISSUE_URL = "https://github.example/alice/hello/issues/3"


def with_token(settings: Settings, token: str | None = TOKEN) -> Settings:
    secret = SecretStr(token) if token is not None else None
    return settings.model_copy(update={"dashboard_token": secret})


def tree() -> list[dict[str, Any]]:
    return [
        {
            "id": "R1",
            "title": "Parse the config file",
            "status": "done",
            "depends_on": [],
            "acceptance": ["reads YAML", "reports the line of an error"],
            "description": "Read .github/pilot.yml.",
        },
        {
            "id": "R2",
            "title": "Validate the budgets",
            "status": "in_progress",
            "depends_on": ["R1"],
            "acceptance": ["negative budgets are refused"],
            "description": "Check max_steps and friends.",
        },
        {
            "id": "R3",
            "title": "Document the keys",
            "status": "pending",
            "depends_on": ["R2"],
            "acceptance": ["README lists every key"],
            "description": "Docs.",
        },
    ]


def summary(now: float, **changes: Any) -> RunSummary:
    run = RunSummary(
        run_id=RUN_ID,
        repo="alice/hello",
        issue=3,
        title="Validate the repository config",
        phase="execute",
        headline="Working on **R2**.",
        requested_by="alice",
        started_at=now - 400,
        updated_at=now - 5,
        issue_url=ISSUE_URL,
        branch="pilot/issue-3-validate-the-repository-config",
        pr_number=7,
        pr_url="https://github.example/alice/hello/pull/7",
        tokens_used=123_456,
        token_limit=400_000,
        steps=14,
        ci_attempt=2,
        ci_max=3,
        ci_history=[
            {"sha": "a1b2c3d4e5f6a7b8", "failing": 2, "names": ["lint", "test (3.11)"]},
            {"sha": "0f9e8d7c6b5a4f3e", "failing": 0, "names": []},
        ],
        tree=tree(),
    )
    return replace(run, **changes)


def step(node: str, n: int, command: str, output: str, ts: float) -> dict[str, Any]:
    """A trajectory `step` record as the agent writes it: one run_command and one write_file."""
    calls = [
        {"id": f"c{n}a", "name": "run_command", "arguments": json.dumps({"command": command})},
        {
            "id": f"c{n}b",
            "name": "write_file",
            "arguments": json.dumps({"path": "pilot/config.py", "content": "x = 1\n"}),
        },
    ]
    return {
        "ts": ts,
        "kind": "step",
        "node": node,
        "step": n,
        "ms": 1250,
        "queries": [
            {"response": {"tool_calls": calls}, "tokens": {"prompt": 900, "completion": 60}}
        ],
        "actions": [
            {"id": f"c{n}a", "tool": "run_command", "observation": output},
            {"id": f"c{n}b", "tool": "write_file", "observation": "Wrote pilot/config.py."},
        ],
    }


def records(now: float) -> list[dict[str, Any]]:
    """The first part of a run's trajectory: the plan, R1 worked and finished, R2 started."""
    return [
        {
            "ts": now - 390,
            "kind": "plan",
            "attempt": 1,
            "seconds": 2.5,
            "usage": {},
            "response": {"tool_calls": [{"name": "submit_plan"}]},
        },
        {"ts": now - 380, "kind": "node_start", "node": "R1", "title": "Parse the config file"},
        step("R1", 1, "python -m pytest -q tests/test_config.py", "3 passed in 0.12s", now - 370),
        {
            "ts": now - 360,
            "kind": "node_end",
            "node": "R1",
            "outcome": "finish",
            "summary": "The config is parsed.",
            "steps": 1,
        },
        {"ts": now - 350, "kind": "node_start", "node": "R2", "title": "Validate the budgets"},
    ]


async def feed_run(redis: aioredis.Redis, now: float, **changes: object) -> RedisRunFeed:
    feed = RedisRunFeed(redis)
    for record in records(now):
        feed.event(RUN_ID, record)
    await feed.publish(summary(now, **changes))
    return feed
