"""`issue-pilot export-preferences`: preference pairs for TRL's `DPOTrainer` from the runs'
trajectories under PILOT_RUNS_DIR.

One JSON object a line in TRL's conversational preference form, and nothing else (TRL reads
these three columns; others would reach its collator):

    {"prompt": [{"role": "system", ...}, {"role": "user", ...}],
     "chosen": [{"role": "assistant", "content": ...}],
     "rejected": [{"role": "assistant", "content": ...}]}

Pairs come from two places:
- the attempts tree: `candidate` records of one node, every two with different rewards, the
  higher chosen; their prompt is the one they all started from;
- outcomes: a CI fix (`ci-<n>`) whose push CI judged green, over the attempt CI judged red
  just before it (`outcome_reward` records of `what: ci`); the prompt is the earlier
  attempt's, the failure as first put to the agent, which both set out to fix.

A candidate's conversation is turns of the assistant, the tools' answers and sometimes the
run's feedback. Only what the model wrote is a completion: the tools' output is the
environment's, and training the policy to predict it would teach it to invent results. So
the turns become one assistant message: each turn's text, then each tool call as
`<tool_call>{"name": …, "arguments": {…}}</tool_call>` (the form Hermes-style chat templates
give tool calls), in order. A pair whose two sides read the same is left out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

from bot.agent.trajectory import FILE_NAME

Message = dict[str, str]


@dataclass(frozen=True)
class Pair:
    prompt: list[Message]
    chosen: str
    rejected: str
    source: str  # candidates or ci

    def row(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "chosen": [{"role": "assistant", "content": self.chosen}],
            "rejected": [{"role": "assistant", "content": self.rejected}],
        }


def parse_since(text: str) -> float:
    """A date (`2026-05-01`) or an ISO time as epoch seconds; without a zone it is UTC."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def read_records(path: Path) -> list[dict[str, Any]]:
    """A trajectory's records; a line a killed worker left half written is skipped."""
    records = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def prompt_of(messages: Any) -> list[Message] | None:
    """The system and user messages the agent started from; None when there are none."""
    if not isinstance(messages, list):
        return None
    prompt = [
        {"role": str(m["role"]), "content": str(m.get("content") or "")}
        for m in messages
        if isinstance(m, dict) and m.get("role") in ("system", "user")
    ]
    if not prompt or prompt[-1]["role"] != "user" or not all(m["content"] for m in prompt):
        return None
    return prompt


def completion_text(messages: Any) -> str:
    """The assistant's turns as one text: its words and its tool calls, in order."""
    if not isinstance(messages, list):
        return ""
    parts: list[str] = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        if message.get("content"):
            parts.append(str(message["content"]).strip())
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            arguments = function.get("arguments")
            try:
                arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
            except ValueError:
                pass  # kept as the model wrote it: a malformed call is part of what it did
            shown = json.dumps(
                {"name": function.get("name"), "arguments": arguments}, ensure_ascii=False
            )
            parts.append(f"<tool_call>\n{shown}\n</tool_call>")
    return "\n".join(part for part in parts if part)


def candidate_pairs(records: list[dict[str, Any]], since: float) -> Iterator[Pair]:
    by_node: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.get("kind") == "candidate" and float(record.get("ts", 0)) >= since:
            by_node.setdefault(str(record.get("node")), []).append(record)
    for candidates in by_node.values():
        for one, two in combinations(candidates, 2):
            reward_one, reward_two = one.get("reward"), two.get("reward")
            if not isinstance(reward_one, int | float) or not isinstance(reward_two, int | float):
                continue  # a candidate that failed before it could be scored
            if reward_one == reward_two:
                continue
            better, worse = (one, two) if reward_one > reward_two else (two, one)
            pair = make_pair(better, worse, better.get("prompt"), "candidates")
            if pair is not None:
                yield pair


def make_pair(
    better: dict[str, Any], worse: dict[str, Any], prompt_messages: Any, source: str
) -> Pair | None:
    prompt = prompt_of(prompt_messages)
    chosen = completion_text(better.get("messages"))
    rejected = completion_text(worse.get("messages"))
    if prompt is None or not chosen or not rejected or chosen == rejected:
        return None
    return Pair(prompt, chosen, rejected, source)


def conversations(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each node's conversation that was kept: the chosen candidate's, else the last
    finished pass of the node (`node_end` carries its prompt and messages)."""
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        kind, node = record.get("kind"), str(record.get("node"))
        if kind == "node_end" and record.get("outcome") == "finished" and record.get("prompt"):
            if not found.get(node, {}).get("chosen"):
                found[node] = record
        elif kind == "candidate" and record.get("chosen"):
            found[node] = record
    return found


def ci_pairs(records: list[dict[str, Any]], since: float) -> Iterator[Pair]:
    rewards = [r for r in records if r.get("kind") == "outcome_reward"]
    verdicts = [r for r in rewards if r.get("what") == "ci"]
    # Green by weakening the tests is no fix to prefer.
    gamed = {r.get("sha") for r in rewards if r.get("what") == "tests"}
    talks = conversations(records)
    for before, after in pairwise(verdicts):
        if float(after.get("at", 0)) < since:
            continue
        if float(after.get("value", 0)) <= 0 or float(before.get("value", 0)) >= 0:
            continue  # only a red attempt followed by a green one
        if after.get("sha") in gamed:
            continue
        late, early = str(after.get("node")), str(before.get("node"))
        if not late.startswith("ci-") or not early.startswith("ci-") or late == early:
            continue
        if late not in talks or early not in talks:
            continue
        pair = make_pair(talks[late], talks[early], talks[early].get("prompt"), "ci")
        if pair is not None:
            yield pair


def run_pairs(records: list[dict[str, Any]], since: float) -> Iterator[Pair]:
    yield from candidate_pairs(records, since)
    yield from ci_pairs(records, since)


def trajectories(runs_dir: Path) -> Iterable[Path]:
    return sorted(runs_dir.glob(f"*/{FILE_NAME}"))


def export_preferences(runs_dir: Path, since: float, out: Path) -> dict[str, int]:
    """Writes every pair of the runs under `runs_dir` made at or after `since` to `out`
    (replaced whole, never left half written); returns how many of each source."""
    counts = {"candidates": 0, "ci": 0}
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8") as file:
        for path in trajectories(runs_dir):
            for pair in run_pairs(read_records(path), since):
                file.write(json.dumps(pair.row(), ensure_ascii=False) + "\n")
                counts[pair.source] += 1
    os.replace(partial, out)
    return counts
