"""Talking to the model: the narrow LLM interface (an OpenAI-compatible client implements it)."""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import openai

from bot.core.settings import Settings, SettingsError

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
class Sampling:
    """How a call samples: None leaves it to the provider. Candidates of one requirement
    (bot/run/candidates.py) differ by these, so they do not all write the same answer."""

    temperature: float | None = None
    seed: int | None = None


DEFAULT_SAMPLING = Sampling()
# `force_tool=ANY_TOOL`: the model must call one of the tools, its choice (`tool_choice:
# "required"`); one call per step where naming the tool first would take two.
ANY_TOOL = "*required*"


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
        sampling: Sampling = DEFAULT_SAMPLING,
    ) -> Reply:
        """One chat completion offering `tools`; `force_tool` names the tool the model must call
        (`tool_choice` naming it), or is ANY_TOOL, for weak local models; `sampling` sets
        temperature and seed."""
        ...


log = logging.getLogger("pilot.llm")

# Statuses a later try may get past: rate limits and the server's own trouble.
RETRYABLE_STATUSES = frozenset({429, *range(500, 600)})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently `OpenAICompatibleLLM` retries a failed call."""

    tries: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_retry_after_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number `attempt` (1-based)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after_s))
        return min(self.base_delay_s * 2.0 ** (attempt - 1), self.max_delay_s)


class OpenAICompatibleLLM:
    """`LLM` over any OpenAI-compatible chat completions endpoint."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "unused",
        timeout_s: float = 300.0,
        retry: RetryPolicy | None = None,
        temperature: float | None = None,
        max_output_tokens: int | None = None,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.temperature = temperature  # for calls whose sampling leaves it open
        self.max_output_tokens = max_output_tokens
        self.retry = retry or RetryPolicy()
        if self.retry.tries < 1:
            raise ValueError("RetryPolicy.tries must be at least 1")
        self.timeout_s = timeout_s
        # The SDK's own retries would hide failures from our policy and double the waits.
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> OpenAICompatibleLLM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        force_tool: str | None = None,
        sampling: Sampling = DEFAULT_SAMPLING,
    ) -> Reply:
        """One chat completion, retried on rate limits, server errors and timeouts."""
        request = self._request(messages, tools, force_tool, sampling)
        tries = self.retry.tries
        for attempt in range(1, tries + 1):
            try:
                completion = await self._client.chat.completions.create(**request)
            except openai.APIStatusError as exc:
                said = _server_said(exc)
                if exc.status_code not in RETRYABLE_STATUSES:
                    raise LLMError(
                        f"LLM at {self.base_url} refused the request with HTTP "
                        f"{exc.status_code}: {said}"
                    ) from exc
                failure = f"answered HTTP {exc.status_code}: {said}"
                wait = self.retry.delay(attempt, _retry_after(exc.response.headers))
                last: Exception = exc
            except openai.APITimeoutError as exc:
                failure = f"did not answer within {self.timeout_s:g} s"
                wait, last = self.retry.delay(attempt), exc
            except openai.APIConnectionError as exc:
                failure = f"could not be reached: {exc.__cause__ or exc.message}"
                wait, last = self.retry.delay(attempt), exc
            except openai.OpenAIError as exc:
                raise LLMError(f"LLM at {self.base_url} answered unusably: {exc}") from exc
            else:
                return self._reply(completion)
            if attempt < tries:
                log.warning(
                    "LLM call failed, retrying",
                    extra={"attempt": attempt, "tries": tries, "failure": failure, "wait": wait},
                )
                await asyncio.sleep(wait)
        raise LLMError(
            f"LLM at {self.base_url} {failure} (gave up after {tries} "
            f"{'try' if tries == 1 else 'tries'})"
        ) from last

    def _request(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        force_tool: str | None,
        sampling: Sampling = DEFAULT_SAMPLING,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "messages": list(messages)}
        # Only what was asked for: some servers refuse a `seed` they do not support.
        temperature = sampling.temperature
        if temperature is None:
            temperature = self.temperature
        if temperature is not None:
            request["temperature"] = temperature
        if self.max_output_tokens is not None:
            request["max_tokens"] = self.max_output_tokens
        if sampling.seed is not None:
            request["seed"] = sampling.seed
        if force_tool is not None and force_tool != ANY_TOOL:
            offered = {tool.get("function", {}).get("name") for tool in tools}
            if force_tool not in offered:
                raise ValueError(f"force_tool {force_tool!r} is not among the tools offered")
        if tools:
            request["tools"] = list(tools)
            request["tool_choice"] = (
                "required"
                if force_tool == ANY_TOOL
                else {"type": "function", "function": {"name": force_tool}}
                if force_tool
                else "auto"
            )
        return request

    def _reply(self, completion: Any) -> Reply:
        choices = getattr(completion, "choices", None)
        if not choices:
            raise LLMError(f"LLM at {self.base_url} answered without any choice")
        choice = choices[0]
        message = choice.message
        calls: list[ToolCall] = []
        for call in message.tool_calls or ():
            function = getattr(call, "function", None)
            if function is not None:
                calls.append(ToolCall(call.id, function.name, function.arguments or ""))
            else:  # a custom (free-text) tool call
                calls.append(ToolCall(call.id, call.custom.name, call.custom.input))
        usage = completion.usage
        return Reply(
            content=message.content,
            tool_calls=tuple(calls),
            usage=Usage(
                prompt_tokens=(usage.prompt_tokens or 0) if usage else 0,
                completion_tokens=(usage.completion_tokens or 0) if usage else 0,
            ),
            finish_reason=choice.finish_reason,
        )


def llm_from_settings(
    settings: Settings, *, retry: RetryPolicy | None = None
) -> OpenAICompatibleLLM:
    """The configured model; raises `SettingsError` naming what is missing."""
    if not settings.llm_base_url:
        raise SettingsError("PILOT_LLM_BASE_URL is not set")
    if not settings.llm_model:
        raise SettingsError("PILOT_LLM_MODEL is not set")
    key = settings.llm_api_key
    return OpenAICompatibleLLM(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        # Local servers ignore the key, but the SDK insists on one.
        api_key=key.get_secret_value() if key is not None else "unused",
        timeout_s=settings.llm_timeout_s,
        retry=retry or RetryPolicy(tries=settings.llm_max_tries),
        temperature=settings.llm_temperature,
        max_output_tokens=settings.llm_max_output_tokens,
    )


def _server_said(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    if body is not None:
        return str(body)[:500]
    return exc.response.text[:500] or exc.message


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """The server's Retry-After (seconds or an HTTP date), or None."""
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()
