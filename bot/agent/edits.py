"""`edit_file`'s text work, pure: where `old` matches, what the edited region looks like, and the
closest lines when it does not match. Small models copy code with its indentation wrong and
edit files they never read; these answers let them correct themselves in one step."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

CONTEXT_LINES = 3
MAX_REGION_LINES = 40


class EditError(Exception):
    """A well-formed edit that does not apply: `old` matches zero or several times."""


@dataclass(frozen=True)
class Edited:
    text: str
    first_line: int  # 1-based, of the replacement in the new text
    last_line: int
    loose: bool  # matched only with indentation and trailing spaces ignored


def numbered(lines: list[str], start: int) -> str:
    """`lines` with their 1-based numbers, `start` being the first one's."""
    width = len(str(start + len(lines) - 1))
    return "\n".join(f"{n:>{width}}| {line}" for n, line in enumerate(lines, start))


def apply_edit(text: str, old: str, new: str, path: str) -> Edited:
    """`text` with its single occurrence of `old` replaced by `new`. An exact match first;
    otherwise a match of whole lines with indentation and trailing spaces ignored, `new` then
    re-indented by the same amount. EditError when neither finds exactly one place."""
    old, new = _unnumbered(old), _unnumbered(new)
    count = text.count(old)
    if count == 1:
        at = text.index(old)
        first = text.count("\n", 0, at) + 1
        result = text[:at] + new + text[at + len(old) :]
        # A `new` ending in a newline ends on the line before the one its last "\n" opens.
        last = first + max(new.count("\n") - new.endswith("\n"), 0)
        return Edited(result, first, last, loose=False)
    if count > 1:
        raise EditError(
            f"edit_file: `old` occurs {count} times in {path}; include more surrounding lines "
            "so it matches exactly once."
        )
    loose = _loose_match(text, old)
    if loose is None:
        raise EditError(_miss(text, old, path))
    start, end, shift, pad = loose
    lines = text.split("\n")
    new_lines = [_reindent(line, shift, pad) for line in new.split("\n")]
    if new.endswith("\n"):
        new_lines = new_lines[:-1]
    result = "\n".join(lines[:start] + new_lines + lines[end:])
    return Edited(result, start + 1, start + max(len(new_lines), 1), loose=True)


_NUMBER = re.compile(r"^ *\d+\| ?")


def _unnumbered(text: str) -> str:
    """`text` without the `12| ` prefixes read_file shows, when every line has one: models copy
    them into `old` and `new`."""
    lines = text.split("\n")
    shown = [line for line in lines if line.strip()]
    if not shown or not all(_NUMBER.match(line) for line in shown):
        return text
    return "\n".join(_NUMBER.sub("", line, count=1) for line in lines)


def region(text: str, first: int, last: int) -> str:
    """The edited lines with a few around them, numbered, for the model to check its edit."""
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # the final newline opens no line, as read_file shows it
    lo = max(1, first - CONTEXT_LINES)
    hi = min(len(lines), last + CONTEXT_LINES, lo + MAX_REGION_LINES - 1)
    return numbered(lines[lo - 1 : hi], lo)


def _significant(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines]


def _loose_match(text: str, old: str) -> tuple[int, int, int, str] | None:
    """(start, end, indent shift, the file's indentation that makes up the shift) of the one
    window of lines that equals `old` line by line once stripped; None when there is none or
    more than one."""
    lines = text.split("\n")
    wanted = old.strip("\n").split("\n")
    if not any(line.strip() for line in wanted):
        return None
    key = _significant(wanted)
    found = [
        i for i in range(len(lines) - len(key) + 1) if _significant(lines[i : i + len(key)]) == key
    ]
    if len(found) != 1:
        return None
    start = found[0]
    first_old = next(line for line in wanted if line.strip())
    first_file = lines[start + wanted.index(first_old)]
    shift = _indent(first_file) - _indent(first_old)
    # Added indentation is the file's own characters: tabs stay tabs (Go, Makefiles, old Python).
    pad = first_file[: max(shift, 0)]
    return start, start + len(key), shift, pad


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _reindent(line: str, shift: int, pad: str) -> str:
    if not line.strip():
        return line
    if shift >= 0:
        return pad + line
    return line[min(-shift, _indent(line)) :]


def _miss(text: str, old: str, path: str) -> str:
    """Why `old` was not found, with the file's lines closest to it, numbered."""
    lines = text.split("\n")
    wanted = old.strip("\n").split("\n")
    size = max(1, len(wanted))
    best, best_at = 0.0, 0
    target = "\n".join(_significant(wanted))
    for i in range(max(1, len(lines) - size + 1)):
        window = "\n".join(_significant(lines[i : i + size]))
        score = difflib.SequenceMatcher(None, target, window, autojunk=False).ratio()
        if score > best:
            best, best_at = score, i
    message = (
        f"edit_file: `old` was not found in {path}. `old` must be copied exactly from the file."
    )
    if best < 0.3:
        if len(lines) <= 80:
            return f"{message} The whole file:\n{numbered(lines, 1)}"
        return f"{message} Nothing in it looks like `old`: read it with `read_file` first."
    lo = max(0, best_at - CONTEXT_LINES)
    hi = min(len(lines), best_at + size + CONTEXT_LINES)
    return (
        f"{message} The closest lines are {best_at + 1}-{best_at + size}:\n"
        f"{numbered(lines[lo:hi], lo + 1)}\n"
        "Copy the lines you want to change from here (without the numbers) into `old`."
    )
