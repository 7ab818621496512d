"""The run's step log: one JSON line per step, flushed as it happens."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

from bot.agent.llm import Message, Reply, Usage

FILE_NAME = "trajectory.jsonl"


def request_digest(messages: Sequence[Message]) -> dict[str, Any]:
    """A fingerprint of a request: the whole prompt in every line would make the log quadratic
    in the conversation's length; the digest still shows when two requests were the same."""
    text = json.dumps(list(messages), sort_keys=True, ensure_ascii=False, default=str)
    return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "messages": len(messages)}


def usage_record(usage: Usage) -> dict[str, int]:
    return {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens}


def query_record(
    messages: Sequence[Message], reply: Reply, force_tool: str | None, ms: int
) -> dict[str, Any]:
    """One model call as the trajectory keeps it: the request's digest, the whole response."""
    return {
        "request": request_digest(messages),
        "force_tool": force_tool,
        "response": {
            "content": reply.content,
            "tool_calls": [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in reply.tool_calls
            ],
            "finish_reason": reply.finish_reason,
        },
        "ms": ms,
        "tokens": usage_record(reply.usage),
    }


class Recorder(Protocol):
    """Where the agent writes its records: a `Trajectory`, or one that tags each record."""

    def record(self, **fields: Any) -> None: ...


class Trajectory:
    """Appends records to `directory/trajectory.jsonl`; each line is flushed at once, so a killed
    worker leaves everything up to the moment it died."""

    def __init__(
        self, directory: Path, sink: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._sink = sink
        self.path = directory / FILE_NAME
        # errors="replace": a lone surrogate from undecodable command output must not lose a line.
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8", errors="replace")

    def record(self, **fields: Any) -> None:
        if self._file is None:
            raise ValueError("the trajectory is closed")
        record = {"ts": round(time.time(), 3), **fields}
        line = json.dumps(record, ensure_ascii=False, default=str)
        self._file.write(line + "\n")
        self._file.flush()
        if self._sink is not None:
            self._sink(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Trajectory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_trajectory(path: Path) -> list[dict[str, Any]]:
    """The records of a trajectory file (a directory means its trajectory.jsonl)."""
    if path.is_dir():
        path = path / FILE_NAME
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
