"""Parses `/pilot` commands out of comment text (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

KNOWN = frozenset({"run", "approve", "continue", "retry", "stop", "status", "help"})
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class Command:
    name: str
    args: str = ""

    @property
    def known(self) -> bool:
        return self.name in KNOWN


def _prose_lines(lines: list[str]) -> list[tuple[int, str]]:
    """(index, line) of the lines outside fenced or indented code blocks and `>` quotes."""
    prose: list[tuple[int, str]] = []
    fence: str | None = None
    for index, line in enumerate(lines):
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
        prose.append((index, line))
    return prose


def parse(body: str, prefix: str = "/pilot") -> Command | None:
    """The first command line of a comment, or None when it holds no command."""
    lines = body.replace("\r\n", "\n").split("\n")
    for index, line in _prose_lines(lines):
        head, _, rest = line.strip().partition(" ")
        if head.lower() != prefix.lower():
            continue
        name, _, args = rest.strip().partition(" ")
        name = name.lower()
        if not name:
            return Command("help")
        if not _NAME.fullmatch(name):
            # Echoed back in the help reply: nothing that could break out of a code span.
            name = ""
        args = args.strip()
        if name == "continue" and not args:
            # `/pilot continue` with the answer below it, code blocks and quotes included.
            args = "\n".join(lines[index + 1 :]).strip()
        return Command(name, args)
    return None
