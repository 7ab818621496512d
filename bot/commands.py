"""Parses `/pilot` commands out of comment text (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

KNOWN = frozenset({"run", "approve", "continue", "retry", "stop", "status", "help"})
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


@dataclass(frozen=True)
class Command:
    name: str
    args: str = ""

    @property
    def known(self) -> bool:
        return self.name in KNOWN


def _prose_lines(body: str) -> list[str]:
    """Lines outside fenced or indented code blocks and `>` quotes."""
    lines: list[str] = []
    fence: str | None = None
    for line in body.replace("\r\n", "\n").split("\n"):
        match = _FENCE.match(line)
        if fence is not None:
            if match and match.group(1) == fence:
                fence = None
            continue
        if match:
            fence = match.group(1)
            continue
        if line.startswith(("    ", "\t")) or line.lstrip().startswith(">"):
            continue
        lines.append(line)
    return lines


def parse(body: str, prefix: str = "/pilot") -> Command | None:
    """The first command line of a comment, or None when it holds no command."""
    lines = _prose_lines(body)
    for index, line in enumerate(lines):
        text = line.strip()
        head, _, rest = text.partition(" ")
        if head.lower() != prefix.lower():
            continue
        name, _, args = rest.strip().partition(" ")
        if not name:
            return Command("help")
        args = args.strip()
        if name.lower() == "continue" and not args:
            # `/pilot continue` with the answer on the lines below it.
            args = "\n".join(lines[index + 1 :]).strip()
        return Command(name.lower(), args)
    return None
