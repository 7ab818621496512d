from __future__ import annotations

import json

import pytest

from bot.agent.llm import ToolCall
from bot.agent.tools import (
    TOOL_NAMES,
    AskHuman,
    DeleteFile,
    EditError,
    EditFile,
    Finish,
    MalformedCall,
    RunCommand,
    WriteFile,
    apply_edit,
    choose_tool_spec,
    execute,
    parse_call,
    parse_choice,
    tool_specs,
)
from tests.agent.test_agent import FakeSandbox


def tc(name: str, arguments: object) -> ToolCall:
    return ToolCall("id", name, arguments if isinstance(arguments, str) else json.dumps(arguments))


def test_specs_are_openai_function_tools() -> None:
    specs = tool_specs()
    assert [s["function"]["name"] for s in specs] == list(TOOL_NAMES)
    for spec in [*specs, choose_tool_spec()]:
        assert spec["type"] == "function"
        parameters = spec["function"]["parameters"]
        assert parameters["type"] == "object"
        assert set(parameters["required"]) <= set(parameters["properties"])
    edit = specs[2]["function"]["parameters"]
    assert edit["required"] == ["path", "old", "new"]
    assert choose_tool_spec()["function"]["parameters"]["properties"]["tool"]["enum"] == list(
        TOOL_NAMES
    )


@pytest.mark.parametrize(
    ("call", "action"),
    [
        (tc("run_command", {"command": "ls"}), RunCommand("ls")),
        (tc("run_command", {"command": "ls", "timeout_s": 5}), RunCommand("ls", 5.0)),
        (tc("run_command", {"command": "ls", "timeout_s": None}), RunCommand("ls")),
        (tc("write_file", {"path": "a", "content": ""}), WriteFile("a", "")),
        (tc("edit_file", {"path": "a", "old": "x", "new": ""}), EditFile("a", "x", "")),
        (tc("delete_file", {"path": "a", "why": "extra is ignored"}), DeleteFile("a")),
        (tc("ask_human", {"question": "?"}), AskHuman("?")),
        (tc("finish", {"summary": "ok"}), Finish("ok")),
        (tc("finish", '{"summary": "ok"}'), Finish("ok")),
    ],
)
def test_valid_calls_parse(call: ToolCall, action: object) -> None:
    assert parse_call(call) == action


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (tc("shell", {"command": "ls"}), "no tool named `shell`"),
        (tc("run_command", "{oops"), "not valid JSON"),
        (tc("run_command", "[1]"), "must be a JSON object"),
        (tc("run_command", {}), "missing the argument(s): command"),
        (tc("run_command", {"command": 3}), "`command` of `run_command` must be a string"),
        (tc("run_command", {"command": "  "}), "non-empty command"),
        (tc("run_command", {"command": "ls", "timeout_s": "5"}), "must be a number"),
        (tc("run_command", {"command": "ls", "timeout_s": -1}), "positive"),
        (tc("write_file", {"path": "", "content": "x"}), "non-empty path"),
        (tc("edit_file", {"path": "a", "old": "", "new": "x"}), "non-empty `old`"),
        (tc("finish", {"summary": True}), "must be a string"),
    ],
)
def test_malformed_calls_say_what_is_wrong(call: ToolCall, message: str) -> None:
    with pytest.raises(MalformedCall) as error:
        parse_call(call)
    assert message in str(error.value)


def test_choice() -> None:
    assert parse_choice(tc("choose_tool", {"tool": "finish", "reason": "r"})) == "finish"
    with pytest.raises(MalformedCall, match="must be one of"):
        parse_choice(tc("choose_tool", {"tool": "fly", "reason": "r"}))
    with pytest.raises(MalformedCall, match="first"):
        parse_choice(tc("finish", {"summary": "s"}))


def test_apply_edit() -> None:
    assert apply_edit("a b c", "b", "B", "f") == "a B c"
    with pytest.raises(EditError, match="not found in f"):
        apply_edit("a b c", "d", "D", "f")
    with pytest.raises(EditError, match="occurs 2 times in f"):
        apply_edit("a a", "a", "b", "f")


async def test_execute_file_tools() -> None:
    sandbox = FakeSandbox({"a.txt": b"one\ntwo\n"})
    assert await execute(WriteFile("b.txt", "hé"), sandbox, 10, 100) == "Wrote b.txt (3 bytes)."
    assert (await execute(EditFile("a.txt", "two", "2"), sandbox, 10, 100)).startswith("Edited")
    assert sandbox.files["a.txt"] == b"one\n2\n"
    assert await execute(DeleteFile("a.txt"), sandbox, 10, 100) == "Deleted a.txt."
    assert await execute(DeleteFile("a.txt"), sandbox, 10, 100) == "Error: a.txt: no such file"


async def test_execute_command_uses_the_smaller_timeout() -> None:
    sandbox = FakeSandbox()
    await execute(RunCommand("ls", 5), sandbox, 60, 100)
    await execute(RunCommand("ls", 500), sandbox, 60, 100)
    await execute(RunCommand("ls"), sandbox, 60, 100)
    assert [t for _, t in sandbox.commands] == [5, 60, 60]


@pytest.mark.parametrize(
    "action",
    [
        WriteFile(".github/workflows/ci.yml", "on: push\n"),
        WriteFile("./.github/workflows/new.yml", "x"),
        WriteFile("/workspace/.github/workflows/ci.yml", "x"),
        EditFile("docs/../.github/workflows/ci.yml", "push", "pull_request"),
        DeleteFile(".github//workflows/ci.yml"),
    ],
)
async def test_workflow_files_are_read_only_at_the_tool(action: object) -> None:
    sandbox = FakeSandbox({".github/workflows/ci.yml": b"on: push\n"})
    assert isinstance(action, WriteFile | EditFile | DeleteFile)
    said = await execute(action, sandbox, 10, 100, workflows_read_only=True)
    assert said.startswith(
        f"Error: {action.path} is under `.github/workflows/`, which is read-only"
    )
    assert "`workflows` permission" in said and "ask_human" in said
    assert sandbox.files == {".github/workflows/ci.yml": b"on: push\n"}


async def test_workflow_files_are_writable_where_the_repository_allows_them() -> None:
    sandbox = FakeSandbox()
    action = WriteFile(".github/workflows/ci.yml", "on: push\n")
    assert (await execute(action, sandbox, 10, 100)).startswith("Wrote")
    near = WriteFile(".github/workflows.md", "notes")
    assert (await execute(near, sandbox, 10, 100, workflows_read_only=True)).startswith("Wrote")
    assert set(sandbox.files) == {".github/workflows/ci.yml", ".github/workflows.md"}
