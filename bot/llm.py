"""Talking to the model: the narrow LLM interface (an OpenAI-compatible client implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Message = dict[str, Any]
ToolSpec = dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # the raw JSON text the model wrote; parsing it may fail


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True)
class Reply:
    content: str | None
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    finish_reason: str | None = None


class LLMError(RuntimeError):
    """The model could not be reached, or kept failing after the retries; the message says why."""


class LLM(Protocol):
    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        force_tool: str | None = None,
    ) -> Reply:
        """One chat completion offering `tools`; `force_tool` names the tool the model must call
        (`tool_choice` naming it), for weak local models."""
        ...
