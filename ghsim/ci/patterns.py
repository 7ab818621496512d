"""GitHub's filter patterns for branches, tags and paths ("Filter pattern cheat sheet").

`*` matches anything but `/`; `**` anything; `**/` any number of directories, none included;
`?` makes the character before it optional and `+` repeats it; `[...]` is a character class;
`\\` takes the next character literally; a leading `!` (in a list) undoes an earlier match.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char in "?+" and out and not out[-1].endswith(("?", "+", "*")):
            out.append(char)  # a quantifier on the character before it
            i += 1
        elif char == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append(f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out))


def matches(pattern: str, name: str) -> bool:
    return _compiled(pattern).fullmatch(name) is not None


def selected(name: str, include: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    """Patterns apply in order: a later `!pattern` undoes what an earlier one matched, a later
    plain one matches again. `include` chooses; `ignore` leaves out."""
    if include:
        return _last_match(include, name)
    return not _last_match(ignore, name)


def _last_match(patterns: tuple[str, ...], name: str) -> bool:
    matched = False
    for pattern in patterns:
        if pattern.startswith("!"):
            matched = matched and not matches(pattern[1:], name)
        elif matches(pattern, name):
            matched = True
    return matched
