from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.agent.llm import LLMError, OpenAICompatibleLLM, RetryPolicy, Usage, llm_from_settings
from bot.core.settings import Settings, SettingsError
from bot.dev.scripted_model import ScriptedModel

FAST = RetryPolicy(tries=3, base_delay_s=0.001, max_delay_s=0.01, max_retry_after_s=0.5)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"the {name} tool",
            "parameters": {"type": "object", "properties": {}},
        },
    }
    for name in ("run_command", "finish", "submit_plan")
]
HELLO = [{"role": "user", "content": "x" * 400}]


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as server:
        yield server


@pytest.fixture
async def llm(model: ScriptedModel) -> AsyncIterator[OpenAICompatibleLLM]:
    client = OpenAICompatibleLLM(base_url=model.base_url, model="m1", timeout_s=2.0, retry=FAST)
    try:
        yield client
    finally:
        await client.aclose()


async def test_tool_calls_and_usage_are_parsed(
    model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    model.set_script(
        [
            {
                "tool_calls": [
                    {"name": "run_command", "arguments": {"command": "pytest -q"}},
                    {"name": "finish", "arguments": "{not json"},
                ]
            }
        ]
    )
    reply = await llm.complete(HELLO, TOOLS)
    assert [call.name for call in reply.tool_calls] == ["run_command", "finish"]
    assert json.loads(reply.tool_calls[0].arguments) == {"command": "pytest -q"}
    assert reply.tool_calls[1].arguments == "{not json"
    assert len({call.id for call in reply.tool_calls}) == 2
    assert reply.finish_reason == "tool_calls"
    assert reply.content is None
    # 400 characters of prompt at four a token; the answer's names and arguments likewise.
    answer_chars = len("run_command") + len('{"command": "pytest -q"}') + len("finish{not json")
    assert reply.usage == Usage(prompt_tokens=100, completion_tokens=-(-answer_chars // 4))


async def test_content_reply(model: ScriptedModel, llm: OpenAICompatibleLLM) -> None:
    model.set_script([{"content": "all done"}])
    reply = await llm.complete(HELLO, [])
    assert (reply.content, reply.tool_calls, reply.finish_reason) == ("all done", (), "stop")
    sent = model.requests()[0]
    assert sent["model"] == "m1"
    assert sent["messages"] == HELLO
    assert "tools" not in sent and "tool_choice" not in sent


async def test_forced_tool_is_sent_as_tool_choice(
    model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    model.set_script([{"tool_calls": [{"name": "submit_plan"}]}, {"content": "hi"}])
    await llm.complete(HELLO, TOOLS, force_tool="submit_plan")
    await llm.complete(HELLO, TOOLS)
    forced, free = model.requests()
    assert forced["tool_choice"] == {"type": "function", "function": {"name": "submit_plan"}}
    assert free["tool_choice"] == "auto"
    assert [tool["function"]["name"] for tool in forced["tools"]] == [
        "run_command",
        "finish",
        "submit_plan",
    ]


async def test_forcing_a_tool_not_offered_is_a_caller_bug(llm: OpenAICompatibleLLM) -> None:
    with pytest.raises(ValueError, match="ask_human"):
        await llm.complete(HELLO, TOOLS, force_tool="ask_human")


async def test_rate_limit_then_success_is_retried(
    model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    model.set_script([{"error": 429}, {"content": "after the wait"}])
    reply = await llm.complete(HELLO, TOOLS)
    assert reply.content == "after the wait"
    assert len(model.requests()) == 2


async def test_retry_after_is_honoured(model: ScriptedModel, llm: OpenAICompatibleLLM) -> None:
    model.set_script([{"error": 429, "retry_after": 0.2}, {"content": "ok"}])
    started = time.monotonic()
    await llm.complete(HELLO, TOOLS)
    assert time.monotonic() - started >= 0.2


async def test_retry_after_is_capped(model: ScriptedModel) -> None:
    model.set_script([{"error": 503, "retry_after": 3600}, {"content": "ok"}])
    policy = RetryPolicy(tries=2, base_delay_s=0.001, max_delay_s=0.01, max_retry_after_s=0.05)
    started = time.monotonic()
    async with OpenAICompatibleLLM(base_url=model.base_url, model="m", retry=policy) as llm:
        assert (await llm.complete(HELLO, TOOLS)).content == "ok"
    assert time.monotonic() - started < 1.0


async def test_repeated_server_errors_end_in_llm_error(
    model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    model.set_script([{"error": 500, "message": "GPU on fire"}] * 5)
    with pytest.raises(LLMError) as caught:
        await llm.complete(HELLO, TOOLS)
    message = str(caught.value)
    assert "HTTP 500" in message and "GPU on fire" in message and "3 tries" in message
    assert model.state()["position"] == 3


async def test_bad_request_is_not_retried(model: ScriptedModel, llm: OpenAICompatibleLLM) -> None:
    # The scripted server refuses a call to a tool the request does not offer.
    model.set_script([{"tool_calls": [{"name": "delete_file"}]}, {"content": "unused"}])
    with pytest.raises(LLMError, match=r"HTTP 400.*delete_file"):
        await llm.complete(HELLO, TOOLS)
    assert len(model.requests()) == 1


async def test_timeout_is_retried_then_fails(model: ScriptedModel) -> None:
    model.set_script([{"content": "slow", "delay_s": 2}] * 2 + [{"content": "never asked"}])
    async with OpenAICompatibleLLM(
        base_url=model.base_url, model="m", timeout_s=0.1, retry=RetryPolicy(2, 0.001, 0.01)
    ) as llm:
        with pytest.raises(LLMError, match=r"within 0\.1 s.*2 tries"):
            await llm.complete(HELLO, TOOLS)
    assert model.state()["position"] == 2


async def test_timeout_then_success(model: ScriptedModel) -> None:
    model.set_script([{"content": "slow", "delay_s": 2}, {"content": "quick"}])
    async with OpenAICompatibleLLM(
        base_url=model.base_url, model="m", timeout_s=0.1, retry=FAST
    ) as llm:
        assert (await llm.complete(HELLO, TOOLS)).content == "quick"


async def test_unreachable_server_ends_in_llm_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with OpenAICompatibleLLM(
        base_url=f"http://127.0.0.1:{port}/v1", model="m", retry=FAST
    ) as llm:
        with pytest.raises(LLMError, match=r"could not be reached.*3 tries"):
            await llm.complete(HELLO, TOOLS)


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(tries=6, base_delay_s=1.0, max_delay_s=5.0, max_retry_after_s=20.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(1, retry_after=12.0) == 12.0
    assert policy.delay(1, retry_after=99.0) == 20.0


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def test_llm_from_settings_talks_to_the_configured_model(model: ScriptedModel) -> None:
    model.set_script([{"content": "configured"}])
    settings = _settings(llm_base_url=model.base_url, llm_model="local-7b", llm_api_key=None)
    async with llm_from_settings(settings, retry=FAST) as llm:
        assert (await llm.complete(HELLO, [])).content == "configured"
    assert model.requests()[0]["model"] == "local-7b"


def test_llm_from_settings_names_what_is_missing() -> None:
    with pytest.raises(SettingsError, match="PILOT_LLM_MODEL"):
        llm_from_settings(_settings(llm_base_url="http://x/v1", llm_model=None))
    with pytest.raises(SettingsError, match="PILOT_LLM_BASE_URL"):
        llm_from_settings(_settings(llm_base_url=None, llm_model="m"))
    keyed = _settings(llm_base_url="http://x/v1", llm_model="m", llm_api_key=SecretStr("k"))
    assert llm_from_settings(keyed).model == "m"
