from __future__ import annotations

import copy
from itertools import pairwise

from bot.agent.conversation import Conversation
from bot.agent.llm import Message, Reply, ToolCall, Usage


def turn(conversation: Conversation, i: int, size: int = 4000) -> None:
    call = ToolCall(f"c{i}", "run_command", '{"command": "ls"}')
    conversation.add_reply(Reply(None, (call,), Usage()))
    conversation.add_observation(f"c{i}", f"{i}:" + "x" * size)


def is_elided(message: Message) -> bool:
    return str(message["content"]).startswith("[output elided:")


def test_starts_with_system_and_task() -> None:
    conversation = Conversation("sys", "task", budget_tokens=100)
    assert conversation.messages == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "task"},
    ]


def test_assistant_messages_carry_the_tool_calls() -> None:
    conversation = Conversation("s", "t", budget_tokens=100)
    conversation.add_reply(Reply("hm", (ToolCall("id1", "finish", "{}"),), Usage()))
    assert conversation.messages[-1] == {
        "role": "assistant",
        "content": "hm",
        "tool_calls": [
            {"id": "id1", "type": "function", "function": {"name": "finish", "arguments": "{}"}}
        ],
    }


def test_under_budget_nothing_changes() -> None:
    conversation = Conversation("s", "t", budget_tokens=10_000)
    turn(conversation, 0)
    assert conversation.fit() == 0 and conversation.elided == 0


def test_elision_keeps_system_task_and_recent_turns() -> None:
    conversation = Conversation("s" * 3000, "t" * 3000, budget_tokens=6000, keep_recent=3)
    for i in range(10):
        turn(conversation, i)
        conversation.fit()
    messages = conversation.messages
    assert messages[0]["content"] == "s" * 3000 and messages[1]["content"] == "t" * 3000
    tools = [m for m in messages if m["role"] == "tool"]
    assert not any(is_elided(m) for m in tools[-3:])
    assert is_elided(tools[0])
    assert tools[0]["content"] == "[output elided: 4002 chars]"
    assert conversation.estimated_tokens() <= 6000


def test_elided_prefix_is_stable_and_elision_comes_in_chunks() -> None:
    conversation = Conversation("s", "t", budget_tokens=5000, keep_recent=2)
    sent: list[list[Message]] = []
    elided_per_call: list[int] = []
    for i in range(15):
        turn(conversation, i)
        elided_per_call.append(conversation.fit())
        sent.append(copy.deepcopy(conversation.messages))
    for before, after in pairwise(sent):
        assert len(after) > len(before)
        changed = [i for i, message in enumerate(before) if after[i] != message]
        # once elided, a message stays as it is; only fresh elisions change the prefix
        assert all(is_elided(after[i]) and not is_elided(before[i]) for i in changed)
    changes = [n for n in elided_per_call if n]
    assert changes and min(changes) > 1  # several at once, not one per call
    assert len(changes) < len(elided_per_call) / 2  # most calls leave the prefix untouched


def test_provider_count_raises_the_estimate_when_denser() -> None:
    conversation = Conversation("s", "t", budget_tokens=10_000)
    turn(conversation, 0, size=400)
    plain = conversation.estimated_tokens()
    conversation.note_prompt_tokens(plain * 3, list(conversation.messages))
    assert conversation.estimated_tokens() == plain * 3
    turn(conversation, 1, size=400)
    assert conversation.estimated_tokens() > plain * 3
