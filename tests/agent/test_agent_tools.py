from __future__ import annotations

import asyncio
import json
from asyncio.subprocess import PIPE, STDOUT
from pathlib import Path

import pytest

from bot.agent.edits import EditError, apply_edit
from bot.agent.llm import ToolCall
from bot.agent.toolbox import ToolBox, execute
from bot.agent.tools import (
    TOOL_NAMES,
    AskHuman,
    DeleteFile,
    EditFile,
    Finish,
    MalformedCall,
    ReadFile,
    RunCommand,
    Search,
    UndoEdit,
    WriteFile,
    choose_tool_spec,
    parse_call,
    parse_choice,
    tool_specs,
)
from bot.sandbox.api import CommandResult
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
        (tc("finish", {"summary": "ok", "keep": ["repro.py"]}), Finish("ok", ("repro.py",))),
        (tc("finish", {"summary": "ok", "keep": None}), Finish("ok")),
        (tc("read_file", {"path": "a.py"}), ReadFile("a.py")),
        (
            tc("read_file", {"path": "a.py", "start_line": 5, "end_line": 9.0}),
            ReadFile("a.py", 5, 9),
        ),
        (tc("search", {"text": "def greet"}), Search("def greet", ".")),
        (tc("search", {"text": "greet", "path": " src "}), Search("greet", "src")),
        (tc("search", {"text": "greet", "path": ""}), Search("greet", ".")),
        (tc("undo_edit", {"path": "a.py"}), UndoEdit("a.py")),
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
        (tc("finish", {"summary": "s", "keep": "repro.py"}), "must be a list of strings"),
        (tc("finish", {"summary": "s", "keep": [1]}), "must be a list of strings"),
        (tc("read_file", {"path": "a", "start_line": 0}), "Line numbers start at 1"),
        (tc("read_file", {"path": "a", "end_line": 2.5}), "`end_line` of `read_file` must be"),
        (tc("read_file", {"path": "a", "start_line": "3"}), "`start_line` of `read_file` must be"),
        (tc("search", {"text": " "}), "non-empty `text`"),
        (tc("undo_edit", {"path": " "}), "non-empty path"),
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
    assert apply_edit("a b c", "b", "B", "f").text == "a B c"
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


# ToolBox: reads, searches, edits and their undo --------------------------------------------------
class LocalSandbox(FakeSandbox):
    """Runs commands for real with bash in a folder holding the files, as the container runs
    them in /workspace: the search tool's grep line is tested as it is sent."""

    def __init__(self, root: Path, files: dict[str, bytes]) -> None:
        super().__init__(files)
        self.root = root

    async def run(self, command: str, timeout_s: float | None = None) -> CommandResult:
        for path, data in self.files.items():
            (self.root / path).parent.mkdir(parents=True, exist_ok=True)
            (self.root / path).write_bytes(data)
        done = await asyncio.create_subprocess_exec(
            "bash", "-c", command, cwd=self.root, stdout=PIPE, stderr=STDOUT
        )
        output, _ = await asyncio.wait_for(done.communicate(), 30)
        out = output.decode()
        return CommandResult(command, done.returncode, out, False, 0.1, len(out))


LINES = "".join(f"line {n}\n" for n in range(1, 251)).encode()


async def test_read_file_shows_numbered_lines_and_what_is_not_shown() -> None:
    box = ToolBox(FakeSandbox({"big.txt": LINES, "small.py": b"x = 1\ny = 2\n"}), 100_000)
    first = await box.execute(ReadFile("big.txt"), 10)
    shown = first.splitlines()
    assert shown[0] == "big.txt (250 lines), lines 1-200:"
    assert shown[1] == "  1| line 1" and shown[200] == "200| line 200"
    assert shown[-1] == "[lines 201-250 not shown: read_file with start_line=201]"
    rest = await box.execute(ReadFile("big.txt", 201), 10)
    assert rest.splitlines()[0] == "big.txt (250 lines), lines 201-250:"
    assert rest.splitlines()[-1] == "250| line 250" and "not shown" not in rest
    middle = await box.execute(ReadFile("big.txt", 10, 12), 10)
    assert (
        middle
        == "big.txt (250 lines), lines 10-12:\n10| line 10\n11| line 11\n12| line 12\n"
        + ("[lines 13-250 not shown: read_file with start_line=13]")
    )
    assert (
        await box.execute(ReadFile("small.py"), 10)
        == "small.py (2 lines), lines 1-2:\n1| x = 1\n2| y = 2"
    )
    assert box.read == {"big.txt", "small.py"} and box.written == set()


async def test_read_file_ranges_are_clamped_and_bounded() -> None:
    box = ToolBox(FakeSandbox({"big.txt": LINES, "empty.txt": b""}), 100_000)
    past = await box.execute(ReadFile("big.txt", 400, 500), 10)
    assert past == "big.txt (250 lines), lines 250-250:\n250| line 250"
    backwards = await box.execute(ReadFile("big.txt", 20, 5), 10)
    assert backwards == "big.txt (250 lines), lines 20-20:\n20| line 20\n" + (
        "[lines 21-250 not shown: read_file with start_line=21]"
    )
    whole = await box.execute(ReadFile("big.txt", 1, 250), 10)
    assert "lines 1-250:" in whole and "not shown" not in whole
    assert await box.execute(ReadFile("empty.txt"), 10) == "empty.txt is empty."
    assert await box.execute(ReadFile("nope.txt"), 10) == "Error: nope.txt: no such file"


async def test_search_finds_lines_with_their_paths(tmp_path: Path) -> None:
    files = {
        "src/greet.py": b"def greet(name):\n    return f'hi {name}'\n",
        "tests/test_greet.py": b"from src.greet import greet\n",
        "README.md": b"Say it with greet('me'); a regex char: greet(\n",
        ".git/config": b"greet in git's own files\n",
    }
    box = ToolBox(LocalSandbox(tmp_path, files))
    found = await box.execute(Search("greet("), 10)
    assert sorted(found.splitlines()) == [
        "README.md:1:Say it with greet('me'); a regex char: greet(",
        "src/greet.py:1:def greet(name):",
    ]
    under = await box.execute(Search("import greet", "tests"), 10)
    assert under == "tests/test_greet.py:1:from src.greet import greet"


async def test_search_without_hits_says_so(tmp_path: Path) -> None:
    box = ToolBox(LocalSandbox(tmp_path, {"a.py": b"x = 1\n", "b/c.py": b"y = 2\n"}))
    assert await box.execute(Search("farewell"), 10) == "No line contains 'farewell'."
    assert await box.execute(Search("x = 1", "b"), 10) == "No line contains 'x = 1' under b."
    quoted = await box.execute(Search("'; rm -rf / #"), 10)
    assert quoted.startswith("No line contains") and (tmp_path / "a.py").exists()


async def test_search_with_many_hits_asks_for_a_narrower_path(tmp_path: Path) -> None:
    box = ToolBox(LocalSandbox(tmp_path, {"many.py": b"x = 1\n" * 100}))
    found = (await box.execute(Search("x = 1"), 10)).splitlines()
    assert len(found) == 61 and found[59] == "many.py:60:x = 1"
    assert found[-1] == "[more than 60 lines; search a narrower path]"


async def test_an_edit_answers_with_the_edited_region() -> None:
    text = "".join(f"v{n} = {n}\n" for n in range(1, 21)).encode()
    box = ToolBox(FakeSandbox({"a.py": text}))
    said = await box.execute(EditFile("a.py", "v10 = 10\n", "v10 = 100\nv10b = 101\n"), 10)
    assert said == (
        "Edited a.py. Lines 10-11 now read:\n"
        " 7| v7 = 7\n 8| v8 = 8\n 9| v9 = 9\n10| v10 = 100\n11| v10b = 101\n"
        "12| v11 = 11\n13| v12 = 12\n14| v13 = 13"
    )
    assert box.written == {"a.py"}


async def test_a_loose_edit_says_it_was_reindented() -> None:
    sandbox = FakeSandbox({"a.py": b"class A:\n    def f(self):\n        return 1\n"})
    box = ToolBox(sandbox)
    said = await box.execute(
        EditFile("a.py", "def f(self):\n    return 1", "def f(self):\n    return 2"), 10
    )
    assert said.startswith("Edited a.py (matched with indentation ignored; `new` was re-indented")
    assert sandbox.files["a.py"] == b"class A:\n    def f(self):\n        return 2\n"


async def test_a_broken_python_file_gets_a_warning_and_undo_fixes_it() -> None:
    sandbox = FakeSandbox({"a.py": b"def f():\n    return 1\n"})
    box = ToolBox(sandbox)
    said = await box.execute(EditFile("a.py", "return 1", "return (1"), 10)
    assert said.startswith("Edited a.py.")
    assert "\nWarning: a.py no longer parses: " in said and "undo_edit" in said
    assert sandbox.files["a.py"] == b"def f():\n    return (1\n"  # written all the same
    assert await box.execute(UndoEdit("a.py"), 10) == (
        "Undone: a.py is as it was before your last change to it."
    )
    assert sandbox.files["a.py"] == b"def f():\n    return 1\n"
    wrote = await box.execute(WriteFile("b.json", '{"a": }'), 10)
    assert wrote.startswith("Wrote b.json (7 bytes).\nWarning: b.json no longer parses:")
    fine = await box.execute(WriteFile("c.py", "x = 1\n"), 10)
    assert fine == "Wrote c.py (6 bytes)."


async def test_a_file_that_never_parsed_gets_no_warning() -> None:
    # A Python 2 file, or a template: the edit did not break it, so it is not the agent's to fix.
    sandbox = FakeSandbox({"old.py": b"print 'hi'\nx = 1\n"})
    box = ToolBox(sandbox)
    assert await box.execute(EditFile("old.py", "x = 1", "x = 2"), 10) == (
        "Edited old.py. Lines 2-2 now read:\n1| print 'hi'\n2| x = 2"
    )
    said = await box.execute(WriteFile("old.py", "print 'bye'\n"), 10)
    assert said == "Wrote old.py (12 bytes)."


async def test_undo_goes_back_one_change_at_a_time() -> None:
    sandbox = FakeSandbox({"a.py": b"x = 1\n"})
    box = ToolBox(sandbox)
    await box.execute(EditFile("a.py", "x = 1", "x = 2"), 10)
    await box.execute(WriteFile("a.py", "x = 3\n"), 10)
    await box.execute(DeleteFile("a.py"), 10)
    assert "a.py" not in sandbox.files
    seen = []
    for _ in range(3):
        assert (await box.execute(UndoEdit("a.py"), 10)).startswith("Undone: a.py is as it was")
        seen.append(sandbox.files["a.py"])
    assert seen == [b"x = 3\n", b"x = 2\n", b"x = 1\n"]
    assert await box.execute(UndoEdit("a.py"), 10) == (
        "Error: there is no change of yours to a.py to undo."
    )


async def test_undo_of_a_new_file_deletes_it_again() -> None:
    sandbox = FakeSandbox()
    box = ToolBox(sandbox)
    await box.execute(WriteFile("new.py", "x = 1\n"), 10)
    await box.execute(WriteFile("new.py", "x = 2\n"), 10)
    assert box.written == {"new.py"}
    await box.execute(UndoEdit("new.py"), 10)
    assert sandbox.files == {"new.py": b"x = 1\n"} and box.written == {"new.py"}
    said = await box.execute(UndoEdit("new.py"), 10)
    assert said == "Undone: new.py did not exist before, and is gone again."
    assert sandbox.files == {} and box.written == set()


async def test_a_failed_edit_leaves_nothing_to_undo() -> None:
    sandbox = FakeSandbox({"a.py": b"x = 1\n"})
    box = ToolBox(sandbox)
    assert (await box.execute(EditFile("a.py", "y = 1", "y = 2"), 10)).startswith("Error:")
    assert (await box.execute(EditFile("b.py", "y", "z"), 10)) == "Error: b.py: no such file"
    assert await box.execute(UndoEdit("a.py"), 10) == (
        "Error: there is no change of yours to a.py to undo."
    )
    assert box.history == {} and box.written == set()


async def test_undo_of_a_workflow_file_is_refused_when_they_are_read_only() -> None:
    sandbox = FakeSandbox({".github/workflows/ci.yml": b"on: push\n"})
    box = ToolBox(sandbox, workflows_read_only=True)
    said = await box.execute(UndoEdit(".github/workflows/ci.yml"), 10)
    assert said.startswith("Error: .github/workflows/ci.yml is under `.github/workflows/`")
