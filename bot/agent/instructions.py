"""The repository's own instructions for agents and contributors (AGENTS.md and the like): which
files, where, in which order, and how much of them reaches the planner's and the agent's prompts
(pure). The text is the repository's, not a person's word to the bot: the prompts fence it as
data (prompts/planner/task.md.j2, prompts/agent/task.md.j2)."""

from __future__ import annotations

from collections.abc import Sequence

# In the order they get room: AGENTS.md is written for agents, CONTRIBUTING.md for people (and is
# often the longest). Of each kind the first place that has the file wins: the root, then where
# GitHub and the tools also look.
INSTRUCTION_FILES: tuple[tuple[str, ...], ...] = (
    ("AGENTS.md", ".github/AGENTS.md", "docs/AGENTS.md"),
    ("CLAUDE.md", ".claude/CLAUDE.md"),
    (".github/copilot-instructions.md",),
    ("CONTRIBUTING.md", ".github/CONTRIBUTING.md", "docs/CONTRIBUTING.md"),
)
MAX_INSTRUCTIONS_CHARS = 6_000
# Each later file keeps this much room (or its whole text when shorter): a long AGENTS.md never
# hides the others entirely.
MIN_SHARE_CHARS = 800
# No more of a file is read than could ever be shown.
MAX_READ_BYTES = 4 * MAX_INSTRUCTIONS_CHARS


def instructions_text(files: Sequence[tuple[str, str]], limit: int = MAX_INSTRUCTIONS_CHARS) -> str:
    """`files` ((path, text), in INSTRUCTION_FILES' order) as one text of at most `limit`
    characters, each file under its path; a file cut says so and where the rest is. A file that
    repeats an earlier one, or only points at it (`@AGENTS.md`, a symlink's target), is left out."""
    sections: list[tuple[str, str]] = []
    seen: list[str] = []
    for path, raw in files:
        text = raw.replace("\r\n", "\n").strip()
        if not text or text in seen or text.lstrip("@") in {p for p, _ in files}:
            continue
        seen.append(text)
        sections.append((path, text))
    sizes = [len(_section(path, text)) for path, text in sections]
    parts: list[str] = []
    left = limit
    for index, (path, text) in enumerate(sections):
        reserve = sum(min(size, MIN_SHARE_CHARS) for size in sizes[index + 1 :])
        room = min(sizes[index], left - reserve)
        part = _section(path, text) if room >= sizes[index] else _cut(path, text, room)
        if part:
            parts.append(part)
            left -= len(part) + 2  # the blank line that joins it to the next
    return "\n\n".join(parts)


def _section(path: str, text: str) -> str:
    return f"### {path}\n{text}"


def _cut(path: str, text: str, room: int) -> str:
    """The head of `text` within `room` characters, header and note included; empty when the
    room cannot hold a useful part."""
    header = f"### {path}\n"
    note = f"\n[... {path} is cut here: {{}} more characters; read the file for the rest]"
    keep = room - len(header) - len(note.format(len(text)))
    if keep < 80:
        return ""
    head = text[:keep]
    # A cut at a line's end reads better than one in the middle of a sentence.
    newline = head.rfind("\n")
    if newline > keep // 2:
        head = head[:newline]
    return header + head.rstrip() + note.format(len(text) - len(head))
