"""Where a review comment sits in a file's patch: its ``diff_hunk`` and ``position``."""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def locate(patch: str, line: int, side: str = "RIGHT") -> tuple[str, int] | None:
    """(diff_hunk up to the line, position in the patch) or None if the line is not in it.

    ``side`` RIGHT counts lines of the new file, LEFT of the old one, as GitHub does.
    """
    old = new = 0
    hunk_start = 0
    lines = patch.split("\n")
    for index, text in enumerate(lines):
        header = _HUNK.match(text)
        if header:
            old, new = int(header.group(1)), int(header.group(2))
            hunk_start = index
            continue
        if not text or text.startswith("\\"):
            continue
        kind = text[0]
        here_old, here_new = old, new
        if kind == "-":
            old += 1
        elif kind == "+":
            new += 1
        else:
            old += 1
            new += 1
        hit = (side == "LEFT" and kind != "+" and here_old == line) or (
            side != "LEFT" and kind != "-" and here_new == line
        )
        if hit:
            return "\n".join(lines[hunk_start : index + 1]), index
    return None
