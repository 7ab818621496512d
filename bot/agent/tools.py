"""The developer agent's tools: their specs, the checking of a call, and carrying one out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.agent.llm import ToolCall, ToolSpec
from bot.core.workflow_files import is_workflow_file, tool_refusal

TOOL_NAMES = (
    "read_file",
    "search",
    "edit_file",
    "write_file",
    "undo_edit",
    "run_command",
    "delete_file",
    "ask_human",
    "finish",
)
CHOOSE_TOOL = "choose_tool"
READ_LINES = 200  # a read without a range shows this many lines, then says how to see more
SEARCH_HITS = 60


@dataclass(frozen=True)
class RunCommand:
    command: str
    timeout_s: float | None = None


@dataclass(frozen=True)
class ReadFile:
    path: str
    start_line: int | None = None
    end_line: int | None = None


@dataclass(frozen=True)
class Search:
    text: str
    path: str = "."


@dataclass(frozen=True)
class UndoEdit:
    path: str


@dataclass(frozen=True)
class WriteFile:
    path: str
    content: str


@dataclass(frozen=True)
class EditFile:
    path: str
    old: str
    new: str


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class AskHuman:
    question: str


@dataclass(frozen=True)
class Finish:
    summary: str
    keep: tuple[str, ...] = ()  # new files that look like scratch but are meant to stay


Action = (
    RunCommand
    | ReadFile
    | Search
    | WriteFile
    | EditFile
    | UndoEdit
    | DeleteFile
    | AskHuman
    | Finish
)
FILE_CHANGES = (WriteFile, EditFile, UndoEdit, DeleteFile)


class MalformedCall(Exception):
    """A tool call the agent cannot carry out; the message is what the model is told."""


def _string(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


_LINE = {"type": "integer", "description": "1-based line number."}
_PARAMETERS: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "read_file": (
        "Show a file with line numbers (the first 200 lines, or the range you give).",
        {
            "path": _string("Path relative to /workspace."),
            "start_line": _LINE,
            "end_line": _LINE,
        },
        ("path",),
    ),
    "search": (
        "Find the lines that contain a text (exact, not a regex) in the files under a path.",
        {
            "text": _string("The text to look for, such as a function name."),
            "path": _string("A file or folder relative to /workspace; default: everything."),
        },
        ("text",),
    ),
    "undo_edit": (
        "Put a file back as it was before your last write_file, edit_file or delete_file on it.",
        {"path": _string("Path relative to /workspace.")},
        ("path",),
    ),
    "run_command": (
        "Run a shell command in /workspace (bash -lc). No network. Returns the exit code, "
        "duration and output (long output is cut in the middle).",
        {
            "command": _string("The shell command."),
            "timeout_s": {"type": "number", "description": "Seconds before it is killed."},
        },
        ("command",),
    ),
    "write_file": (
        "Create or overwrite a file with the given full content.",
        {"path": _string("Path relative to /workspace."), "content": _string("Full content.")},
        ("path", "content"),
    ),
    "edit_file": (
        "Replace `old` by `new` in a file. Copy `old` exactly from the file (without the line "
        "numbers), with enough lines to match one place. The answer shows the edited lines.",
        {
            "path": _string("Path relative to /workspace."),
            "old": _string("Exact text to replace; must occur exactly once."),
            "new": _string("Replacement text."),
        },
        ("path", "old", "new"),
    ),
    "delete_file": (
        "Delete a file.",
        {"path": _string("Path relative to /workspace.")},
        ("path",),
    ),
    "ask_human": (
        "Stop and ask the maintainers a question, when a decision only they can make blocks "
        "the work.",
        {"question": _string("One clear question, with the options you see.")},
        ("question",),
    ),
    "finish": (
        "Declare this requirement done: its acceptance criteria are met and the tests pass.",
        {
            "summary": _string("What you changed and how you checked it."),
            "keep": {
                "type": "array",
                "items": {"type": "string"},
                "description": "New scratch-like files (repro.py, debug.txt) to keep; others go.",
            },
        },
        ("summary",),
    ),
}


def _spec(
    name: str, description: str, properties: dict[str, Any], required: tuple[str, ...]
) -> ToolSpec:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(required),
                "additionalProperties": False,
            },
        },
    }


def tool_specs() -> list[ToolSpec]:
    """The development tools as OpenAI function tools."""
    return [_spec(name, *_PARAMETERS[name]) for name in TOOL_NAMES]


def choose_tool_spec() -> ToolSpec:
    """The first of the two forced calls in forced mode: which tool to use next, and why."""
    return _spec(
        CHOOSE_TOOL,
        "Choose the tool for your next action.",
        {"tool": {"type": "string", "enum": list(TOOL_NAMES)}, "reason": _string("Why.")},
        ("tool", "reason"),
    )


def _arguments(call: ToolCall) -> dict[str, Any]:
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as error:
        raise MalformedCall(
            f"The arguments of `{call.name}` are not valid JSON: {error}."
        ) from None
    if not isinstance(arguments, dict):
        raise MalformedCall(f"The arguments of `{call.name}` must be a JSON object.")
    return arguments


def _check(name: str, arguments: dict[str, Any]) -> None:
    _, properties, required = _PARAMETERS.get(name) or _choose_parameters()
    missing = [key for key in required if key not in arguments]
    if missing:
        raise MalformedCall(f"`{name}` is missing the argument(s): {', '.join(missing)}.")
    # Extra arguments are ignored rather than refused: weak models add them often, and
    # refusing would spend a step on something harmless.
    for key, value in arguments.items():
        if key not in properties or (value is None and key not in required):
            continue
        kind = properties[key]["type"]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        whole = number and float(value) == int(value)
        strings = isinstance(value, list) and all(isinstance(item, str) for item in value)
        if (
            (kind == "string" and not isinstance(value, str))
            or (kind == "number" and not number)
            or (kind == "integer" and not whole)
            or (kind == "array" and not strings)
        ):
            wanted = "list of strings" if kind == "array" else kind
            raise MalformedCall(f"The argument `{key}` of `{name}` must be a {wanted}.")


def _choose_parameters() -> tuple[str, dict[str, Any], tuple[str, ...]]:
    function = choose_tool_spec()["function"]
    parameters = function["parameters"]
    return function["description"], parameters["properties"], tuple(parameters["required"])


def parse_call(call: ToolCall) -> Action:
    """The action `call` asks for, or MalformedCall saying what is wrong with it."""
    if call.name not in TOOL_NAMES:
        raise MalformedCall(
            f"There is no tool named `{call.name}`. The tools are: {', '.join(TOOL_NAMES)}."
        )
    args = _arguments(call)
    _check(call.name, args)
    paths = ("read_file", "write_file", "edit_file", "undo_edit", "delete_file")
    if call.name in paths and not args["path"].strip():
        raise MalformedCall(f"`{call.name}` needs a non-empty path.")
    if call.name == "run_command":
        if not args["command"].strip():
            raise MalformedCall("`run_command` needs a non-empty command.")
        timeout = args.get("timeout_s")
        if timeout is not None and timeout <= 0:
            raise MalformedCall("`timeout_s` must be a positive number of seconds.")
        return RunCommand(args["command"], None if timeout is None else float(timeout))
    if call.name == "read_file":
        start, end = args.get("start_line"), args.get("end_line")
        if (start is not None and start < 1) or (end is not None and end < 1):
            raise MalformedCall("Line numbers start at 1.")
        return ReadFile(
            args["path"], None if start is None else int(start), None if end is None else int(end)
        )
    if call.name == "search":
        if not args["text"].strip():
            raise MalformedCall("`search` needs a non-empty `text`.")
        return Search(args["text"], (args.get("path") or ".").strip() or ".")
    if call.name == "undo_edit":
        return UndoEdit(args["path"])
    if call.name == "write_file":
        return WriteFile(args["path"], args["content"])
    if call.name == "edit_file":
        if not args["old"]:
            raise MalformedCall(
                "`edit_file` needs a non-empty `old`; use write_file for new files."
            )
        return EditFile(args["path"], args["old"], args["new"])
    if call.name == "delete_file":
        return DeleteFile(args["path"])
    if call.name == "ask_human":
        return AskHuman(args["question"])
    return Finish(args["summary"], tuple(args.get("keep") or ()))


def parse_choice(call: ToolCall) -> str:
    """The tool name a `choose_tool` call picked, or MalformedCall."""
    if call.name != CHOOSE_TOOL:
        raise MalformedCall(f"Call `{CHOOSE_TOOL}` first to choose your next tool.")
    args = _arguments(call)
    _check(CHOOSE_TOOL, args)
    if args["tool"] not in TOOL_NAMES:
        raise MalformedCall(f"`tool` must be one of: {', '.join(TOOL_NAMES)}.")
    return str(args["tool"])


def refusal(action: Action, workflows_read_only: bool) -> str | None:
    """Why a file tool may not touch its path, if it may not: workflow files are read-only
    unless the repository allows them (`workflows: allowed` in `.github/pilot.yml`)."""
    if not workflows_read_only or not isinstance(action, FILE_CHANGES):
        return None
    return tool_refusal(action.path) if is_workflow_file(action.path) else None
