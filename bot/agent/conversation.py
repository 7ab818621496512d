"""The agent's conversation, kept under a token budget by eliding old observations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bot.agent.llm import Message, Reply

CHARS_PER_TOKEN = 4
ELIDED = "[output elided: {chars} chars]"


def assistant_message(reply: Reply) -> Message:
    # Some providers (llama.cpp's server) refuse an assistant message whose content is null,
    # even beside tool calls; an empty string is what every one accepts.
    message: Message = {"role": "assistant", "content": reply.content or ""}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in reply.tool_calls
        ]
    return message


@dataclass
class Conversation:
    """[system, task, ...turns]. Over `budget_tokens`, the oldest observations outside the last
    `keep_recent` turns are replaced by a placeholder, down to `low_water` of the budget.

    Elision only ever turns a full observation into its placeholder, never back, so the prefix
    of the conversation stays identical between calls except where elision just happened; and
    it goes down to a low-water mark in one go, so the provider's prompt cache is broken
    rarely, not on every call.
    """

    system: str
    task: str
    budget_tokens: int
    keep_recent: int = 4
    low_water: float = 0.6
    messages: list[Message] = field(default_factory=list)
    _elided_at: set[int] = field(default_factory=set)
    # The provider's count for the prompt it saw last, and the size of that prompt in chars.
    _measured: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not self.messages:
            self.messages = [
                {"role": "system", "content": self.system},
                {"role": "user", "content": self.task},
            ]

    def add_reply(self, reply: Reply) -> None:
        self.messages.append(assistant_message(reply))

    def add_observation(self, call_id: str, content: str) -> None:
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": content})

    def add_user(self, content: str) -> None:
        self.messages.append({"role": "user", "content": content})

    def note_prompt_tokens(self, prompt_tokens: int, sent: list[Message]) -> None:
        """Remember what the provider counted for `sent` (the messages of the last request)."""
        if prompt_tokens > 0:
            self._measured = (prompt_tokens, _chars(sent))

    def estimated_tokens(self) -> int:
        chars = _chars(self.messages)
        if self._measured is None:
            return chars // CHARS_PER_TOKEN
        tokens, measured_chars = self._measured
        # The larger of the two: the provider's count corrects chars/4 when its tokenizer
        # is denser, and chars/4 guards against a provider that reports too little.
        return max(chars // CHARS_PER_TOKEN, tokens + (chars - measured_chars) // CHARS_PER_TOKEN)

    def fit(self) -> int:
        """Elide old observations if over budget; returns how many were elided now."""
        over = self.estimated_tokens() - self.budget_tokens
        if over <= 0:
            return 0
        # Go down to the low-water mark, not just under the budget, so the next calls have room.
        to_free = (over + int(self.budget_tokens * (1 - self.low_water))) * CHARS_PER_TOKEN
        newly = 0
        for index in range(2, self._protected_from()):
            message = self.messages[index]
            if to_free <= 0:
                break
            if message["role"] != "tool" or index in self._elided_at:
                continue
            content = str(message["content"])
            placeholder = ELIDED.format(chars=len(content))
            if len(placeholder) >= len(content):
                continue
            self.messages[index] = {**message, "content": placeholder}
            self._elided_at.add(index)
            to_free -= len(json.dumps(content, ensure_ascii=False)) - len(placeholder) - 2
            newly += 1
        return newly

    @property
    def elided(self) -> int:
        return len(self._elided_at)

    def _protected_from(self) -> int:
        """Index of the first message of the last `keep_recent` turns (a turn starts at an
        assistant message)."""
        starts = [i for i, m in enumerate(self.messages) if m["role"] == "assistant"]
        if len(starts) <= self.keep_recent:
            return len(self.messages) if not starts else starts[0]
        return starts[-self.keep_recent] if self.keep_recent else len(self.messages)


def _chars(messages: list[Message]) -> int:
    return len(json.dumps(messages, ensure_ascii=False))
