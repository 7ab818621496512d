"""Reads the files the planner and the agent see up front (bot/agent/focus.py decides which),
from the sandbox or the run's checkout, in small repositories only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot.agent.focus import is_small, pick, source_files, view
from bot.core.text import decode
from bot.github.checkout import Checkout
from bot.sandbox.api import Sandbox, SandboxFileError

MAX_READ_BYTES = 64_000  # a file larger than this is not one to show whole anyway


Reader = Callable[[str], Awaitable[bytes | None]]


async def shown_files(
    sandbox: Sandbox, paths: Sequence[str], issue_text: str
) -> list[tuple[str, str]]:
    """(path, numbered text) of the files to show, best first; none in a large repository."""

    async def read(path: str) -> bytes | None:
        try:
            return await sandbox.read_file(path)
        except SandboxFileError:
            return None  # deleted by an earlier requirement, or unreadable: nothing to show

    return await _shown(read, paths, issue_text)


async def shown_files_at_head(
    checkout: Checkout, paths: Sequence[str], issue_text: str
) -> list[tuple[str, str]]:
    """The same, read from the checkout's head (for the planner, before any sandbox)."""
    return await _shown(checkout.file_at_head, paths, issue_text)


async def _shown(read: Reader, paths: Sequence[str], issue_text: str) -> list[tuple[str, str]]:
    if not is_small(paths):
        return []
    contents: dict[str, str] = {}
    for path in source_files(paths):
        data = await read(path)
        if data is not None and len(data) <= MAX_READ_BYTES:
            contents[path] = decode(data)
    return [(path, view(contents[path])) for path in pick(issue_text, contents)]
