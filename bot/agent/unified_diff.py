"""A unified `git diff` read file by file (pure): each file's old and new path (None when it
was added or deleted; a rename has both) and the lines its hunks remove and add."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_QUOTED_PAIR = re.compile(r'^("(?:[^"\\]|\\.)*") ("(?:[^"\\]|\\.)*"|.+)$')
_OCTAL = re.compile(r"[0-7]{3}")
_ESCAPES = {"n": b"\n", "t": b"\t", '"': b'"', "\\": b"\\", "a": b"\a", "b": b"\b"}


@dataclass
class FileChange:
    old: str | None  # None: the file was added
    new: str | None  # None: the file was deleted
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)


def file_changes(diff: str) -> list[FileChange]:
    """Each file of `diff`, in order. Hunks are read by their line counts, so a removed line
    that starts `-- ` is never taken for a header."""
    files: list[FileChange] = []
    current: FileChange | None = None
    old_left = new_left = 0
    # Newlines alone: a form feed inside a line must not cost a hunk its count.
    for line in diff.split("\n"):
        if current is not None and (old_left > 0 or new_left > 0):
            if line.startswith("\\"):
                continue  # `\ No newline at end of file`
            if line.startswith("-"):
                current.removed.append(line[1:])
                old_left -= 1
            elif line.startswith("+"):
                current.added.append(line[1:])
                new_left -= 1
            else:
                old_left, new_left = old_left - 1, new_left - 1
            continue
        if line.startswith("diff --git "):
            current = FileChange(*_header_paths(line[len("diff --git ") :]))
            files.append(current)
        elif current is None:
            continue
        elif line.startswith("new file mode"):
            current.old = None
        elif line.startswith("deleted file mode"):
            current.new = None
        elif line.startswith("rename from "):
            current.old = unquote(line[len("rename from ") :])
        elif line.startswith("rename to "):
            current.new = unquote(line[len("rename to ") :])
        elif line.startswith("@@"):
            hunk = _HUNK.match(line)
            if hunk is not None:
                old_left = int(hunk.group(1) or 1)
                new_left = int(hunk.group(2) or 1)
    return files


def _header_paths(rest: str) -> tuple[str, str]:
    """The two paths of `diff --git a/X b/Y`: quoted when they hold odd characters, else the
    same path twice unless `rename from`/`rename to` lines follow."""
    quoted = _QUOTED_PAIR.match(rest)
    if quoted is not None:
        old, new = quoted.groups()
    elif rest.endswith('"') and ' "' in rest:
        old, _, new = rest.partition(' "')
        new = '"' + new
    else:
        half = (len(rest) - 1) // 2
        old, new = rest[:half], rest[half + 1 :]
        if old[2:] != new[2:]:
            old, _, tail = rest.partition(" b/")
            new = "b/" + tail
    return unquote(old)[2:], unquote(new)[2:]


def unquote(path: str) -> str:
    """A path as git writes it, C-quoted with octal escapes for its bytes when it has to be."""
    if len(path) < 2 or not (path.startswith('"') and path.endswith('"')):
        return path
    out = bytearray()
    body = path[1:-1]
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            if _OCTAL.fullmatch(body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
            else:
                out += _ESCAPES.get(body[i + 1], body[i + 1].encode())
                i += 2
            continue
        out += body[i].encode()
        i += 1
    return out.decode("utf-8", "replace")
