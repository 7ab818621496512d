"""The developer agent's tools: their specs, the checking of a call, and carrying one out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.agent.llm import ToolCall, ToolSpec
from bot.agent.observations import command_observation
from bot.core.text import decode
from bot.core.workflow_files import is_workflow_file, tool_refusal
from bot.sandbox.api import Sandbox, SandboxFileError

TOOL_NAMES = ("run_command", "write_file", "edit_file", "delete_file", "ask_human", "finish")
CHOOSE_TOOL = "choose_tool"


@dataclass(frozen=True)
class RunCommand:
    command: str
    timeout_s: float | None = None


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


Action = RunCommand | WriteFile | EditFile | DeleteFile | AskHuman | Finish


class MalformedCall(Exception):
    """A tool call the agent cannot carry out; the message is what the model is told."""


class EditError(Exception):
    """A well-formed edit that does not apply: `old` matches zero or several times."""


def _string(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


_PARAMETERS: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
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
        "Replace one exact, unique occurrence of `old` in a file by `new`.",
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
        {"summary": _string("What you changed and how you checked it.")},
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
    """The six development tools as OpenAI function tools."""
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
        if (kind == "string" and not isinstance(value, str)) or (kind == "number" and not number):
            raise MalformedCall(f"The argument `{key}` of `{name}` must be a {kind}.")


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
    if call.name in ("write_file", "edit_file", "delete_file") and not args["path"].strip():
        raise MalformedCall(f"`{call.name}` needs a non-empty path.")
    if call.name == "run_command":
        if not args["command"].strip():
            raise MalformedCall("`run_command` needs a non-empty command.")
        timeout = args.get("timeout_s")
        if timeout is not None and timeout <= 0:
            raise MalformedCall("`timeout_s` must be a positive number of seconds.")
        return RunCommand(args["command"], None if timeout is None else float(timeout))
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
    return Finish(args["summary"])


def parse_choice(call: ToolCall) -> str:
    """The tool name a `choose_tool` call picked, or MalformedCall."""
    if call.name != CHOOSE_TOOL:
        raise MalformedCall(f"Call `{CHOOSE_TOOL}` first to choose your next tool.")
    args = _arguments(call)
    _check(CHOOSE_TOOL, args)
    if args["tool"] not in TOOL_NAMES:
        raise MalformedCall(f"`tool` must be one of: {', '.join(TOOL_NAMES)}.")
    return str(args["tool"])


def apply_edit(text: str, old: str, new: str, path: str) -> str:
    """`text` with its single occurrence of `old` replaced; EditError when not exactly one."""
    count = text.count(old)
    if count == 0:
        raise EditError(
            f"edit_file: `old` was not found in {path}. Read the file and copy the exact text, "
            "whitespace included."
        )
    if count > 1:
        raise EditError(
            f"edit_file: `old` occurs {count} times in {path}; include more surrounding lines "
            "so it matches exactly once."
        )
    return text.replace(old, new, 1)


def refusal(action: Action, workflows_read_only: bool) -> str | None:
    """Why a file tool may not touch its path, if it may not: workflow files are read-only
    unless the repository allows them (`workflows: allowed` in `.github/pilot.yml`)."""
    if not workflows_read_only or not isinstance(action, WriteFile | EditFile | DeleteFile):
        return None
    return tool_refusal(action.path) if is_workflow_file(action.path) else None


async def execute(
    action: Action,
    sandbox: Sandbox,
    timeout_s: float,
    observation_chars: int,
    workflows_read_only: bool = False,
) -> str:
    """Carry out a sandbox action and describe the result; a failed or refused file operation
    is an observation for the model, not an error for the run."""
    refused = refusal(action, workflows_read_only)
    if refused is not None:
        return f"Error: {refused}"
    try:
        if isinstance(action, RunCommand):
            timeout = min(action.timeout_s or timeout_s, timeout_s)
            result = await sandbox.run(action.command, timeout)
            return command_observation(result, observation_chars)
        if isinstance(action, WriteFile):
            data = action.content.encode()
            await sandbox.write_file(action.path, data)
            return f"Wrote {action.path} ({len(data)} bytes)."
        if isinstance(action, EditFile):
            text = decode(await sandbox.read_file(action.path))
            await sandbox.write_file(
                action.path, apply_edit(text, action.old, action.new, action.path).encode()
            )
            return f"Edited {action.path}: replaced 1 occurrence."
        if isinstance(action, DeleteFile):
            await sandbox.delete_file(action.path)
            return f"Deleted {action.path}."
    except (SandboxFileError, EditError) as error:
        return f"Error: {error}"
    raise TypeError(f"not a sandbox action: {action!r}")
