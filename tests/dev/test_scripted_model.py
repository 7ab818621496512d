from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cli import build_parser, main
from bot.dev.scripted_model import ScriptedModel, ScriptError, load_script, parse_steps

TOOLS = [{"type": "function", "function": {"name": n}} for n in ("write_file", "finish")]


def ask(tools: list[dict[str, Any]] | None = None, content: str = "hello") -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": content}]}
    if tools is not None:
        body["tools"] = tools
    return body


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedModel]:
    with ScriptedModel() as model:
        yield model


@pytest.fixture
def http(server: ScriptedModel) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url.removesuffix("/v1"), timeout=5) as client:
        yield client


def test_answers_tool_calls_in_order(server: ScriptedModel, http: httpx.Client) -> None:
    server.set_script(
        [
            {"tool_calls": [{"name": "write_file", "arguments": {"path": "a.py", "content": ""}}]},
            {"tool_calls": [{"name": "finish", "arguments": '{"summary": '}]},
            {"content": "bye"},
        ]
    )
    first = http.post("/v1/chat/completions", json=ask(TOOLS)).json()
    second = http.post("/v1/chat/completions", json=ask(TOOLS)).json()
    third = http.post("/v1/chat/completions", json=ask()).json()
    call = first["choices"][0]["message"]["tool_calls"][0]
    assert call["type"] == "function"
    assert call["function"]["name"] == "write_file"
    assert json.loads(call["function"]["arguments"]) == {"path": "a.py", "content": ""}
    assert second["choices"][0]["message"]["tool_calls"][0]["function"] == {
        "name": "finish",
        "arguments": '{"summary": ',
    }
    assert first["choices"][0]["finish_reason"] == "tool_calls"
    assert third["choices"][0]["message"] == {"role": "assistant", "content": "bye"}
    assert third["choices"][0]["finish_reason"] == "stop"
    assert call["id"] != second["choices"][0]["message"]["tool_calls"][0]["id"]


def test_usage_is_estimated_from_characters(server: ScriptedModel, http: httpx.Client) -> None:
    server.set_script([{"content": "y" * 10}])
    usage = http.post("/v1/chat/completions", json=ask(content="x" * 41)).json()["usage"]
    assert usage == {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}


def test_tool_not_offered_is_refused(server: ScriptedModel, http: httpx.Client) -> None:
    server.set_script([{"tool_calls": [{"name": "run_command"}]}])
    answer = http.post("/v1/chat/completions", json=ask(TOOLS))
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert "run_command" in message and "write_file" in message


def test_scripted_error_carries_retry_after(server: ScriptedModel, http: httpx.Client) -> None:
    server.set_script([{"error": 429, "retry_after": 7}, {"error": 503}])
    limited = http.post("/v1/chat/completions", json=ask())
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    unavailable = http.post("/v1/chat/completions", json=ask())
    assert unavailable.status_code == 503 and "retry-after" not in unavailable.headers


def test_exhausted_script_fails_loudly(server: ScriptedModel, http: httpx.Client) -> None:
    server.set_script([{"content": "only one"}])
    assert http.post("/v1/chat/completions", json=ask()).status_code == 200
    answer = http.post("/v1/chat/completions", json=ask())
    assert answer.status_code == 500
    assert "script exhausted" in answer.json()["error"]["message"]


def test_control_endpoints(server: ScriptedModel, http: httpx.Client) -> None:
    server.set_script([{"content": "old"}])
    http.post("/v1/chat/completions", json=ask(content="first"))
    assert http.get("/_state").json() == {"position": 1, "remaining": 0, "total": 1}
    assert [r["messages"][0]["content"] for r in http.get("/_requests").json()] == ["first"]

    replaced = http.put("/_script", json=[{"content": "new"}, {"content": "newer"}])
    assert replaced.json() == {"position": 0, "remaining": 2, "total": 2}
    assert http.get("/_requests").json() == []
    body = http.post("/v1/chat/completions", json=ask(), headers={"x": "y"}).json()
    assert body["choices"][0]["message"]["content"] == "new"
    assert server.state()["remaining"] == 1
    assert server.requests() == [ask()]


def test_invalid_script_is_refused(server: ScriptedModel, http: httpx.Client) -> None:
    answer = http.put("/_script", json=[{"content": "ok"}, {"error": 200}])
    assert answer.status_code == 400
    assert "step 1" in answer.json()["error"]["message"]


def test_models_and_malformed_requests(server: ScriptedModel, http: httpx.Client) -> None:
    assert http.get("/v1/models").json()["data"][0]["id"] == "scripted"
    server.set_script([{"content": "never"}])
    assert http.post("/v1/chat/completions", content=b"{nope").status_code == 400
    assert http.post("/v1/chat/completions", json={"model": "m"}).status_code == 400
    assert server.state()["position"] == 0


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ({"content": "x"}, "list of steps"),
        ([{}], "step 0"),
        ([{"content": "x", "error": 500}], "either an error or an answer"),
        ([{"content": "x", "retry_after": 1}], "only go with error"),
        ([{"tool_calls": [{"arguments": {}}]}], "step 0 tool_calls.0.name"),
        ([{"content": "x", "colour": "red"}], "colour"),
    ],
)
def test_parse_steps_rejects_bad_scripts(steps: object, problem: str) -> None:
    with pytest.raises(ScriptError, match=problem):
        parse_steps(steps)


def test_load_script_reads_json_and_yaml(tmp_path: Path) -> None:
    as_json = tmp_path / "s.json"
    as_json.write_text(json.dumps([{"tool_calls": [{"name": "finish", "arguments": "{}"}]}]))
    as_yaml = tmp_path / "s.yaml"
    as_yaml.write_text("steps:\n  - error: 503\n    retry_after: 2\n  - content: hi\n")
    assert load_script(as_json)[0].tool_calls[0].name == "finish"  # type: ignore[index]
    assert [(s.error, s.content) for s in load_script(as_yaml)] == [(503, None), (None, "hi")]
    broken = tmp_path / "b.yml"
    broken.write_text("- content: [unclosed\n")
    with pytest.raises(ScriptError, match=r"b\.yml"):
        load_script(broken)
    with pytest.raises(ScriptError, match="missing"):
        load_script(tmp_path / "missing.json")


async def test_usable_from_async_tests() -> None:
    async with ScriptedModel([{"content": "async"}]) as model:
        assert model.base_url.endswith("/v1")
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{model.base_url}/chat/completions", json=ask())
        assert answer.json()["choices"][0]["message"]["content"] == "async"
    model.stop()  # a second stop is harmless
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{model.base_url}/models", timeout=1)


def test_cli_scripted_model_command(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["scripted-model", "--script", "s.yaml", "--host", "0.0.0.0", "--port", "9"]
    )
    assert (args.script, args.host, args.port) == ("s.yaml", "0.0.0.0", 9)
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["scripted-model", "--script", str(bad)]) == 2
