"""What the dashboard and the metrics read about runs, written by the worker as runs move.

GitHub stays the durable record (the status comment); this is a view of it kept in Redis so
the web process, which never holds the App's key, can show runs without asking GitHub. A
wiped Redis loses the view, not the runs: each run writes its summary again on its next save.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis

from bot.core.text import cut

log = logging.getLogger("pilot.feed")

PREFIX = "pilot:feed:"
RUNS = PREFIX + "runs"  # zset: run id → last update
PHASES = PREFIX + "phases"  # hash: run id → phase, read by /metrics
MAX_EVENTS = 400
RETAIN_S = 30 * 24 * 3600
OUTPUT_CHARS = 1500
ARGUMENT_CHARS = 400


def summary_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}"


def events_key(run_id: str) -> str:
    return f"{PREFIX}events:{run_id}"


def written_key(run_id: str) -> str:
    """How many events the run ever wrote: the capped list drops its head, so a page that
    polls by position needs this to tell where the list now starts."""
    return f"{PREFIX}written:{run_id}"


@dataclass
class RunSummary:
    """One row of the dashboard's list and the head of a run's page."""

    run_id: str
    repo: str
    issue: int
    title: str
    phase: str
    headline: str
    requested_by: str
    started_at: float
    updated_at: float
    issue_url: str | None = None
    branch: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    tokens_used: int = 0
    token_limit: int | None = None
    steps: int = 0
    ci_attempt: int = 0
    ci_max: int | None = None
    ci_history: list[dict[str, Any]] = field(default_factory=list)
    tree: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    question: str | None = None
    outcome: str | None = None
    attempt: int = 1
    # The attempts tree's scores (bot/run/candidates.py): node, candidate, reward, chosen, …
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, text: str | bytes) -> RunSummary:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def done_nodes(self) -> int:
        return sum(
            1 for n in self.tree if n.get("status") == "done"
        )  # NodeStatus.DONE, as JSON carries it


class RunFeed(Protocol):
    async def publish(self, summary: RunSummary) -> None:
        """The run's summary as it is now."""
        ...

    def event(self, run_id: str, record: dict[str, Any]) -> None:
        """One trajectory record; called from synchronous code, so it must not block."""
        ...

    async def flush(self) -> None:
        """Writes what `event` buffered."""
        ...


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {"raw": cut(str(raw), ARGUMENT_CHARS)}
    return value if isinstance(value, dict) else {"raw": cut(str(value), ARGUMENT_CHARS)}


def _call_view(name: str | None, arguments: dict[str, Any]) -> dict[str, Any]:
    """What a person scanning the timeline wants of a tool call: the command or the path."""
    shown: dict[str, Any] = {}
    for key in ("command", "path", "question", "summary", "timeout_s"):
        if key in arguments:
            value = arguments[key]
            shown[key] = cut(value, ARGUMENT_CHARS) if isinstance(value, str) else value
    if name == "write_file" and isinstance(arguments.get("content"), str):
        shown["bytes"] = len(arguments["content"].encode())
    return shown


def feed_event(record: dict[str, Any]) -> dict[str, Any] | None:
    """A trajectory record trimmed for the timeline; None for records it does not show.

    A step keeps its tool calls (the command or path, not the file contents) and their
    outputs cut to head and tail; the prompts and whole replies stay in the trajectory file.
    """
    kind = record.get("kind")
    ts = record.get("ts", round(time.time(), 3))
    if kind == "step":
        calls: dict[str, tuple[str, dict[str, Any]]] = {}
        tokens = 0
        for query in record.get("queries", []):
            usage = query.get("tokens") or {}
            tokens += int(usage.get("prompt", 0)) + int(usage.get("completion", 0))
            for call in query.get("response", {}).get("tool_calls", []):
                calls[call.get("id", "")] = (call.get("name"), _arguments(call.get("arguments")))
        actions = []
        for action in record.get("actions", []):
            name, arguments = calls.get(action.get("id") or "", (action.get("tool"), {}))
            actions.append(
                {
                    "tool": name or action.get("tool"),
                    **_call_view(name, arguments),
                    "output": cut(str(action.get("observation", "")), OUTPUT_CHARS),
                }
            )
        return {
            "ts": ts,
            "kind": "step",
            "node": record.get("node"),
            "step": record.get("step"),
            "ms": record.get("ms"),
            "exit": record.get("exit"),
            "tokens": tokens,
            "actions": actions,
        }
    if kind == "plan":
        return {"ts": ts, "kind": "plan", "attempt": record.get("attempt"), **_plan_view(record)}
    if kind == "candidate":  # its score, not its conversation and diff
        shown = ("node", "candidate", "reward", "score", "chosen", "outcome")
        return {"ts": ts, "kind": kind, **{k: record.get(k) for k in shown}}
    if kind in ("node_start", "node_end", "ci", "outcome", "resume", "timing"):
        # A node's conversation (`prompt`, `messages`) stays in the trajectory file.
        dropped = ("queries", "actions", "tokens", "prompt", "messages")
        keep = {k: v for k, v in record.items() if k not in dropped}
        if isinstance(keep.get("summary"), str):
            keep["summary"] = cut(keep["summary"], OUTPUT_CHARS)
        return keep
    return None


def _plan_view(record: dict[str, Any]) -> dict[str, Any]:
    usage = record.get("usage") or {}
    calls = record.get("response", {}).get("tool_calls", [])
    return {
        "ms": round(float(record.get("seconds", 0)) * 1000),
        "tokens": int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0)),
        "problems": [cut(str(p), ARGUMENT_CHARS) for p in record.get("problems", [])][:10],
        "submitted": any(c.get("name") == "submit_plan" for c in calls),
        # A plan bounded to one requirement is the issue itself; no model was asked.
        "from_issue": bool(record.get("from_issue")),
    }


class RedisRunFeed:
    """The feed in Redis: a summary per run, a capped timeline per run, an index by update.

    `event` only appends to a buffer; a writer task drains it, and every write takes the
    buffer under one lock, so the timeline keeps the order the records were made in and the
    agent never waits on Redis.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._buffer: list[tuple[str, str]] = []
        self._writing = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None

    async def publish(self, summary: RunSummary) -> None:
        await self.flush()
        try:
            # Runs whose summaries expired leave the index and the phases /metrics counts.
            gone = await self._redis.zrangebyscore(RUNS, "-inf", summary.updated_at - RETAIN_S)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(summary_key(summary.run_id), summary.to_json(), ex=RETAIN_S)
                pipe.zadd(RUNS, {summary.run_id: summary.updated_at})
                pipe.hset(PHASES, summary.run_id, summary.phase)
                if gone:
                    pipe.zrem(RUNS, *gone)
                    pipe.hdel(PHASES, *gone)
                await pipe.execute()
        except Exception:
            # The dashboard is a view: a Redis hiccup must not stop a run.
            log.warning("run feed: summary not written", exc_info=True)

    def event(self, run_id: str, record: dict[str, Any]) -> None:
        shown = feed_event(record)
        if shown is None:
            return
        self._buffer.append((run_id, json.dumps(shown, ensure_ascii=False, default=str)))
        with suppress(RuntimeError):  # no running loop: flush() writes it later
            if self._writer is None or self._writer.done():
                self._writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._buffer:
            await self._write_buffer()
            await asyncio.sleep(0)

    async def _write_buffer(self) -> None:
        async with self._writing:
            batch, self._buffer = self._buffer, []
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[tuple[str, str]]) -> None:
        try:
            # One transaction: a reader sees the list and its count move together.
            async with self._redis.pipeline(transaction=True) as pipe:
                for run_id in {run_id for run_id, _ in batch}:
                    lines = [line for rid, line in batch if rid == run_id]
                    pipe.rpush(events_key(run_id), *lines)
                    pipe.ltrim(events_key(run_id), -MAX_EVENTS, -1)
                    pipe.expire(events_key(run_id), RETAIN_S)
                    pipe.incrby(written_key(run_id), len(lines))
                    pipe.expire(written_key(run_id), RETAIN_S)
                await pipe.execute()
        except Exception:
            log.warning("run feed: %d events not written", len(batch), exc_info=True)

    async def flush(self) -> None:
        # Under the lock: a batch the writer task took first is written before this one.
        await self._write_buffer()


@dataclass
class Timeline:
    """Events `first`, `first + 1`, …; `next` is the number the following event will have."""

    first: int
    events: list[dict[str, Any]]
    next: int


# One round trip that reads only the events a page lacks. A feed written before the counter
# existed has none: its list starts at number 0.
_TAIL = """
local length = redis.call('LLEN', KEYS[2])
local first = math.max(0, tonumber(redis.call('GET', KEYS[1]) or '0') - length)
local start = math.max(tonumber(ARGV[1]), first)
return {start, first + length, redis.call('LRANGE', KEYS[2], start - first, -1)}
"""


class RunFeedReader:
    """What the web process reads: the runs, newest first, and one run's timeline."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._tail = redis.register_script(_TAIL)

    async def runs(self, limit: int = 100) -> list[RunSummary]:
        ids = await self._redis.zrevrange(RUNS, 0, limit - 1)
        if not ids:
            return []
        texts = await self._redis.mget([summary_key(as_text(i)) for i in ids])
        return [RunSummary.from_json(t) for t in texts if t]

    async def run(self, run_id: str) -> RunSummary | None:
        text = await self._redis.get(summary_key(run_id))
        return RunSummary.from_json(text) if text else None

    async def timeline(self, run_id: str, since: int = 0) -> Timeline:
        """Events numbered from the run's first, from number `since` on; numbers stay put when
        the capped list drops its oldest events, so a page polling with `next` misses none."""
        keys = [written_key(run_id), events_key(run_id)]
        start, end, lines = await self._tail(keys=keys, args=[max(0, since)])
        return Timeline(int(start), [json.loads(line) for line in lines], int(end))


def as_text(value: str | bytes) -> str:
    """A Redis reply as text, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else value
