"""A run's timeline as the dashboard draws it: one line per feed event, tool calls beneath.

The events come from `bot.run_feed.feed_event`, already trimmed; their text was written by a
model in a sandbox, so it leaves here as plain strings only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActionView:
    """One tool call: what it was called on, and what came back (shown folded)."""

    tool: str
    target: str
    detail: str
    output: str


@dataclass(frozen=True)
class EventView:
    number: int
    kind: str
    time: str
    node: str
    title: str
    meta: str
    tone: str  # "" | "good" | "bad" | "muted"
    text: str
    actions: list[ActionView] = field(default_factory=list)


def clock(ts: object) -> str:
    """HH:MM:SS in UTC; the page says so once."""
    if not isinstance(ts, int | float):
        return ""
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def duration(ms: object) -> str:
    if not isinstance(ms, int | float):
        return ""
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _meta(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def _tokens(n: object) -> str:
    return f"{n:,} tokens" if isinstance(n, int) and n else ""


def action(raw: dict[str, Any]) -> ActionView:
    tool = str(raw.get("tool") or "?")
    if "command" in raw:
        target = f"$ {raw['command']}"
    elif "path" in raw:
        target = str(raw["path"])
    elif "question" in raw:
        target = str(raw["question"])
    elif "summary" in raw:
        target = str(raw["summary"])
    else:
        target = ""
    details = []
    if isinstance(raw.get("bytes"), int):
        details.append(f"{raw['bytes']:,} bytes")
    if isinstance(raw.get("timeout_s"), int | float):
        details.append(f"timeout {raw['timeout_s']} s")
    return ActionView(tool, target, _meta(*details), str(raw.get("output") or ""))


def event(number: int, raw: dict[str, Any]) -> EventView:
    """The line for event `number` of the run (numbers from `RunFeedReader.timeline`)."""
    kind = str(raw.get("kind", "?"))
    node = str(raw.get("node") or "")
    title, meta, tone, text = kind.replace("_", " "), "", "", ""
    actions: list[ActionView] = []
    if kind == "step":
        title = f"Step {raw.get('step')}"
        exit_kind = raw.get("exit")
        meta = _meta(
            duration(raw.get("ms")),
            _tokens(raw.get("tokens")),
            f"→ {exit_kind}" if exit_kind else "",
        )
        actions = [action(a) for a in raw.get("actions") or [] if isinstance(a, dict)]
    elif kind == "plan" and raw.get("from_issue"):
        title = "Plan: the issue itself, as one requirement"
    elif kind == "plan":
        submitted = bool(raw.get("submitted"))
        title = "Plan submitted" if submitted else "Plan attempt without a usable plan"
        meta = _meta(
            f"attempt {raw.get('attempt')}", duration(raw.get("ms")), _tokens(raw.get("tokens"))
        )
        problems = [str(p) for p in raw.get("problems") or []]
        tone = "bad" if problems or not submitted else ""
        text = "\n".join(f"• {p}" for p in problems)
    elif kind == "draft":
        title = f"Draft {raw.get('draft')}" if raw.get("draft") else "No drafts"
        kept = raw.get("verdict") == "kept"
        meta = _meta(duration(raw.get("ms")), _tokens(raw.get("tokens")))
        tone = "good" if kept else "muted"
        changed = ", ".join(str(c) for c in raw.get("changed") or [])
        text = "\n".join(
            part for part in (str(raw.get("verdict") or raw.get("skipped") or ""), changed) if part
        )
    elif kind == "node_start":
        title = f"Started: {raw.get('title') or node}"
    elif kind == "node_end":
        outcome = str(raw.get("outcome") or "")
        title = f"Ended: {outcome}"
        steps = raw.get("steps")
        meta = "" if not isinstance(steps, int) else "1 step" if steps == 1 else f"{steps} steps"
        tone = "bad" if outcome == "error" else "good" if outcome == "finish" else ""
        text = str(raw.get("summary") or raw.get("error") or "")
    elif kind == "ci":
        failing = [str(n) for n in raw.get("failing") or []]
        title = f"CI on {str(raw.get('sha') or '')[:7]}: {raw.get('state')}"
        tone = "good" if raw.get("state") == "green" else "bad" if failing else ""
        text = ", ".join(failing)
    elif kind == "resume":
        title = "Resumed"
    elif kind == "outcome":
        title = f"Outcome: {raw.get('outcome')}"
        tone = "good" if raw.get("outcome") == "success" else ""
    elif kind == "candidate":
        chosen = bool(raw.get("chosen"))
        title = f"Candidate {raw.get('candidate')}" + (": chosen" if chosen else "")
        reward = raw.get("reward")
        meta = f"reward {reward:.2f}" if isinstance(reward, int | float) else ""
        tone = "good" if chosen else "muted"
    elif kind == "test_guard":
        found = [f for f in raw.get("findings") or [] if isinstance(f, dict)]
        waiting = raw.get("waiting")
        title = f"Tests weakened: {waiting} for a person" if waiting else "Tests kept"
        meta = str(raw.get("sha") or "")[:7]
        tone = "bad" if waiting else "good"
        text = "\n".join(f"• {f.get('detail')}" for f in found[:20])
    elif kind == "timing":
        title = f"{raw.get('phase')} took {duration(raw.get('ms'))}"
        tone = "muted"
    return EventView(number, kind, clock(raw.get("ts")), node, title, meta, tone, text, actions)


def events(first: int, raws: list[dict[str, Any]]) -> list[EventView]:
    return [event(first + i, raw) for i, raw in enumerate(raws)]
