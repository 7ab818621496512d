"""Carrying out the developer agent's sandbox actions, with a memory of what they did: the files
read and written (the finish gate tells scratch from work by it) and each file's earlier contents,
which `undo_edit` puts back."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from bot.agent.edits import EditError, apply_edit, numbered, region
from bot.agent.observations import command_observation
from bot.agent.syntax import syntax_error
from bot.agent.tools import (
    READ_LINES,
    SEARCH_HITS,
    Action,
    DeleteFile,
    EditFile,
    ReadFile,
    RunCommand,
    Search,
    UndoEdit,
    WriteFile,
    refusal,
)
from bot.core.text import cut, decode
from bot.sandbox.api import Sandbox, SandboxFileError


@dataclass
class ToolBox:
    """Carries out sandbox actions for one node and remembers what they did: the files read and
    written (the finish gate tells scratch files from work by it) and each file's earlier
    contents, which `undo_edit` puts back."""

    sandbox: Sandbox
    observation_chars: int = 8000
    workflows_read_only: bool = False
    read: set[str] = field(default_factory=set)
    written: set[str] = field(default_factory=set)
    history: dict[str, list[bytes | None]] = field(default_factory=dict)

    async def execute(self, action: Action, timeout_s: float) -> str:
        """The observation for `action`; a failed or refused file operation is an observation
        for the model, not an error for the run."""
        refused = refusal(action, self.workflows_read_only)
        if refused is not None:
            return f"Error: {refused}"
        try:
            if isinstance(action, RunCommand):
                timeout = min(action.timeout_s or timeout_s, timeout_s)
                result = await self.sandbox.run(action.command, timeout)
                return command_observation(result, self.observation_chars)
            if isinstance(action, ReadFile):
                return await self._read(action)
            if isinstance(action, Search):
                return await self._search(action, timeout_s)
            if isinstance(action, WriteFile):
                was = await self._remember(action.path)
                text = action.content
                await self.sandbox.write_file(action.path, text.encode())
                self.written.add(action.path)
                return _checked(
                    f"Wrote {action.path} ({len(text.encode())} bytes).", action.path, text, was
                )
            if isinstance(action, EditFile):
                return await self._edit(action)
            if isinstance(action, UndoEdit):
                return await self._undo(action.path)
            if isinstance(action, DeleteFile):
                await self._remember(action.path)
                await self.sandbox.delete_file(action.path)
                return f"Deleted {action.path}."
        except (SandboxFileError, EditError) as error:
            return f"Error: {error}"
        raise TypeError(f"not a sandbox action: {action!r}")

    async def _read(self, action: ReadFile) -> str:
        lines = decode(await self.sandbox.read_file(action.path)).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        self.read.add(action.path)
        total = len(lines)
        if total == 0:
            return f"{action.path} is empty."
        start = min(action.start_line or 1, total)
        end = min(action.end_line or start + READ_LINES - 1, total, start + READ_LINES * 2 - 1)
        if end < start:
            end = start
        shown = cut(numbered(lines[start - 1 : end], start), self.observation_chars)
        head = f"{action.path} ({total} lines), lines {start}-{end}:"
        more = ""
        if end < total:
            more = f"\n[lines {end + 1}-{total} not shown: read_file with start_line={end + 1}]"
        return f"{head}\n{shown}{more}"

    async def _search(self, action: Search, timeout_s: float) -> str:
        command = (
            "grep -rnIF --exclude-dir=.git --exclude-dir=node_modules --exclude-dir=__pycache__ "
            f"-e {shlex.quote(action.text)} -- {shlex.quote(action.path)}"
            f" | head -n {SEARCH_HITS + 1}"
        )
        result = await self.sandbox.run(command, min(timeout_s, 60.0))
        hits = [line for line in result.output.splitlines() if line.strip()]
        if not hits:
            where = "" if action.path == "." else f" under {action.path}"
            return f"No line contains {action.text!r}{where}."
        more = (
            f"\n[more than {SEARCH_HITS} lines; search a narrower path]"
            if len(hits) > SEARCH_HITS
            else ""
        )
        shown = "\n".join(line.removeprefix("./") for line in hits[:SEARCH_HITS])
        return f"{cut(shown, self.observation_chars)}{more}"

    async def _edit(self, action: EditFile) -> str:
        before = await self.sandbox.read_file(action.path)
        edited = apply_edit(decode(before), action.old, action.new, action.path)
        self.history.setdefault(action.path, []).append(before)
        await self.sandbox.write_file(action.path, edited.text.encode())
        self.written.add(action.path)
        how = (
            " (matched with indentation ignored; `new` was re-indented to fit)"
            if edited.loose
            else ""
        )
        head = f"Edited {action.path}{how}. Lines {edited.first_line}-{edited.last_line} now read:"
        view = region(edited.text, edited.first_line, edited.last_line)
        return _checked(f"{head}\n{view}", action.path, edited.text, before)

    async def _undo(self, path: str) -> str:
        earlier = self.history.get(path)
        if not earlier:
            return f"Error: there is no change of yours to {path} to undo."
        content = earlier.pop()
        if content is None:
            await self.sandbox.delete_file(path)
            self.written.discard(path)
            return f"Undone: {path} did not exist before, and is gone again."
        await self.sandbox.write_file(path, content)
        return f"Undone: {path} is as it was before your last change to it."

    async def _remember(self, path: str) -> bytes | None:
        try:
            before: bytes | None = await self.sandbox.read_file(path)
        except SandboxFileError:
            before = None
        self.history.setdefault(path, []).append(before)
        return before


def _checked(message: str, path: str, text: str, was: bytes | None) -> str:
    """`message`, and the syntax error the file now has, if its language has a check and the
    file parsed before (`was`, None for a new file): a Python 2 file or a template never did,
    and telling the agent to fix it first would send it off the requirement."""
    error = syntax_error(path, text)
    if error is None or (was is not None and syntax_error(path, decode(was)) is not None):
        return message
    return (
        f"{message}\nWarning: {path} no longer parses: {error}\n"
        "Fix it (edit_file, or undo_edit to go back) before anything else."
    )


async def execute(
    action: Action,
    sandbox: Sandbox,
    timeout_s: float,
    observation_chars: int,
    workflows_read_only: bool = False,
) -> str:
    """One action with a toolbox of its own (no memory of earlier actions)."""
    return await ToolBox(sandbox, observation_chars, workflows_read_only).execute(action, timeout_s)
