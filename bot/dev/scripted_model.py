"""A scripted OpenAI-compatible model server: answers chat completions from a given script."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import uvicorn
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MODEL_ID = "scripted"


class ScriptError(ValueError):
    """A script that cannot be read or is not a list of valid steps; the message says where."""


class ScriptedToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    # A string is sent as written, so a script can hand the client malformed JSON.
    arguments: dict[str, Any] | str = Field(default_factory=dict)

    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


class Step(BaseModel):
    """One scripted answer: tool calls and/or content, or an HTTP error."""

    model_config = ConfigDict(extra="forbid")

    tool_calls: list[ScriptedToolCall] | None = None
    content: str | None = None
    error: int | None = Field(default=None, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)
    message: str | None = None
    delay_s: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        answers = self.tool_calls is not None or self.content is not None
        if self.error is not None and answers:
            raise ValueError("a step is either an error or an answer, not both")
        if self.error is None and not answers:
            raise ValueError("a step needs tool_calls, content or error")
        if self.error is None and (self.retry_after is not None or self.message is not None):
            raise ValueError("retry_after and message only go with error")
        return self


def parse_steps(data: object) -> list[Step]:
    """Validate a script: a list of steps, or a mapping with a `steps` list."""
    if isinstance(data, Mapping) and set(data) == {"steps"}:
        data = data["steps"]
    if not isinstance(data, list):
        raise ScriptError("a script is a list of steps (or {steps: [...]})")
    steps: list[Step] = []
    for index, raw in enumerate(data):
        if isinstance(raw, Step):
            steps.append(raw)
            continue
        try:
            steps.append(Step.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ScriptError(
                f"step {index}{' ' + where if where else ''}: {first['msg']}"
            ) from exc
    return steps


def load_script(path: str | Path) -> list[Step]:
    """Read a script from a JSON or YAML file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScriptError(f"{path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScriptError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from exc
    try:
        return parse_steps(data)
    except ScriptError as exc:
        raise ScriptError(f"{path}: {exc}") from exc


class ScriptState:
    """The script, the position in it and the requests received; shared across threads."""

    def __init__(self, steps: Iterable[Step] = ()) -> None:
        self._lock = threading.Lock()
        self._steps = list(steps)
        self._position = 0
        self._requests: list[Any] = []

    def replace(self, steps: Iterable[Step]) -> None:
        """Start a new script: position 0 and an empty request log."""
        with self._lock:
            self._steps = list(steps)
            self._position = 0
            self._requests = []

    def record(self, body: Any) -> None:
        with self._lock:
            self._requests.append(body)

    def next_step(self) -> Step | None:
        with self._lock:
            if self._position >= len(self._steps):
                return None
            step = self._steps[self._position]
            self._position += 1
            return step

    def requests(self) -> list[Any]:
        with self._lock:
            return list(self._requests)

    def state(self) -> dict[str, int]:
        with self._lock:
            total = len(self._steps)
            return {
                "position": self._position,
                "remaining": total - self._position,
                "total": total,
            }


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Any:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return JSONResponse(body, status_code=status, headers=headers)


def _estimate_tokens(chars: int) -> int:
    return max(1, -(-chars // 4))


def _message_chars(messages: Sequence[Any]) -> int:
    chars = 0
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif content is not None:
            chars += len(json.dumps(content))
        for call in message.get("tool_calls") or ():
            function = call.get("function", {}) if isinstance(call, Mapping) else {}
            chars += len(str(function.get("name", ""))) + len(str(function.get("arguments", "")))
    return chars


def _offered_tools(body: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()
    for tool in body.get("tools") or ():
        if isinstance(tool, Mapping) and isinstance(tool.get("function"), Mapping):
            names.add(str(tool["function"].get("name")))
    return names


async def _wait(request: Request, seconds: float) -> None:
    """Sleep, but stop early once the client has given up (so shutdown is quick)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(left, 0.05))
        if await request.is_disconnected():
            return


def create_app(steps: Iterable[Step] = (), state: ScriptState | None = None) -> Starlette:
    """The ASGI app serving `steps` (or the given shared state)."""
    script = state or ScriptState(steps)
    ids = itertools.count(1)

    async def chat_completions(request: Request) -> Any:
        try:
            body = json.loads(await request.body())
        except ValueError:
            script.record({"_invalid_json": (await request.body()).decode(errors="replace")})
            return _error(400, "the request body is not JSON", "invalid_request_error")
        script.record(body)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "the request needs a `messages` list", "invalid_request_error")
        step = script.next_step()
        if step is None:
            return _error(
                500, "script exhausted: the scripted model has no more steps", "script_exhausted"
            )
        if step.delay_s:
            await _wait(request, step.delay_s)
        if step.error is not None:
            headers = (
                {"Retry-After": f"{step.retry_after:g}"} if step.retry_after is not None else None
            )
            kind = "rate_limit_error" if step.error == 429 else "scripted_error"
            return _error(step.error, step.message or f"scripted error {step.error}", kind, headers)
        offered = _offered_tools(body)
        for call in step.tool_calls or ():
            if call.name not in offered:
                return _error(
                    400,
                    f"scripted tool call {call.name!r} names a tool the request does not offer "
                    f"(offered: {sorted(offered) or 'none'})",
                    "invalid_request_error",
                )
        return JSONResponse(_completion(next(ids), body, step))

    async def models(request: Request) -> Any:
        model = {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "issue-pilot"}
        return JSONResponse({"object": "list", "data": [model]})

    async def put_script(request: Request) -> Any:
        try:
            steps = parse_steps(json.loads(await request.body()))
        except (ValueError, ScriptError) as exc:
            return _error(400, f"invalid script: {exc}", "invalid_request_error")
        script.replace(steps)
        return JSONResponse(script.state())

    async def get_requests(request: Request) -> Any:
        return JSONResponse(script.requests())

    async def get_state(request: Request) -> Any:
        return JSONResponse(script.state())

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/_script", put_script, methods=["PUT"]),
            Route("/_requests", get_requests, methods=["GET"]),
            Route("/_state", get_state, methods=["GET"]),
        ]
    )
    app.state.script = script
    return app


def _completion(number: int, body: Mapping[str, Any], step: Step) -> dict[str, Any]:
    tool_calls: list[dict[str, Any]] = [
        {
            "id": f"call_{number}_{index}",
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_text()},
        }
        for index, call in enumerate(step.tool_calls or ())
    ]
    answer_chars = len(step.content or "") + sum(
        len(call.name) + len(call.arguments_text()) for call in step.tool_calls or ()
    )
    prompt_tokens = _estimate_tokens(_message_chars(body["messages"]))
    completion_tokens = _estimate_tokens(answer_chars)
    message: dict[str, Any] = {"role": "assistant", "content": step.content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-scripted-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model") or MODEL_ID),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class ScriptedModel:
    """The scripted server on a free port in a background thread, for sync and async tests."""

    def __init__(
        self, steps: Iterable[Step | Mapping[str, Any]] = (), host: str = "127.0.0.1"
    ) -> None:
        self.host = host
        self._state = ScriptState(parse_steps(list(steps)))
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the scripted model is not started")
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> Self:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(state=self._state),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the scripted model did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop the server; safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def set_script(self, steps: Iterable[Step | Mapping[str, Any]]) -> None:
        """Replace the script, rewind it and clear the request log."""
        self._state.replace(parse_steps(list(steps)))

    def requests(self) -> list[Any]:
        """Every request body received since the script was set, in order."""
        return self._state.requests()

    def state(self) -> dict[str, int]:
        return self._state.state()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)


def serve(script: Path, host: str, port: int) -> None:
    """Serve a script file until interrupted (the `scripted-model` command)."""
    uvicorn.run(create_app(load_script(script)), host=host, port=port, log_level="info")
