"""A syntax check after each edit of a source file, one hook per language, pure: the agent hears
about a broken file at once, from the edit's own answer, not after a test run three steps on."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import PurePosixPath


def _python(text: str, path: str) -> str | None:
    try:
        compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        where = f"line {error.lineno}" + (f", column {error.offset}" if error.offset else "")
        shown = (error.text or "").rstrip()
        return f"{error.msg} ({where})" + (f":\n    {shown}" if shown else "")
    except ValueError as error:  # null bytes
        return str(error)
    return None


def _json(text: str, path: str) -> str | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return f"{error.msg} (line {error.lineno}, column {error.colno})"
    return None


def _toml(text: str, path: str) -> str | None:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return str(error)
    return None


HOOKS: dict[str, Callable[[str, str], str | None]] = {
    ".py": _python,
    ".json": _json,
    ".toml": _toml,
}


def syntax_error(path: str, text: str) -> str | None:
    """What is wrong with `text` as the file `path`, or None (also for languages with no hook)."""
    hook = HOOKS.get(PurePosixPath(path).suffix.lower())
    return hook(text, path) if hook is not None else None
