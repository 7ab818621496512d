"""Which files the agent sees up front, pure. In a small repository the files an issue is about
are few and short: showing them in the task saves a small model the reads it would otherwise skip
(the way it came to edit code it had never seen)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

SMALL_REPO_FILES = 40  # source files; above this the repository map and read_file do the work
SHOWN_CHARS = 5000  # all files shown, together
MAX_FILE_CHARS = 3000
SOURCE = {
    ".py", ".js", ".ts", ".tsx", ".jsx", ".go", ".rs", ".rb", ".java", ".kt", ".c", ".h",
    ".cpp", ".cs", ".php", ".sh", ".toml", ".cfg", ".ini", ".yml", ".yaml",
}  # fmt: skip
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_COMMON = {
    "the", "and", "for", "with", "that", "this", "from", "not", "but", "are", "was", "when",
    "def", "return", "import", "class", "self", "none", "true", "false", "test", "tests",
    "should", "would", "expected", "actual", "error", "bug", "issue", "file", "line", "get",
}  # fmt: skip


def source_files(paths: Sequence[str]) -> list[str]:
    return [p for p in paths if PurePosixPath(p).suffix in SOURCE and "/." not in f"/{p}"]


def is_small(paths: Sequence[str]) -> bool:
    return len(source_files(paths)) <= SMALL_REPO_FILES


def pick(issue_text: str, contents: Mapping[str, str]) -> list[str]:
    """The files to show, best first, within SHOWN_CHARS: those the issue names (path, file name
    or module), then those sharing the issue's identifiers, each with its tests."""
    words = {w.lower() for w in _WORD.findall(issue_text)} - _COMMON
    scored = []
    for path, text in contents.items():
        score = _named(path, issue_text) * 10 + len(words & _identifiers(text))
        if score > 0:
            scored.append((score, path))
    scored.sort(key=lambda item: (-item[0], _is_test(item[1]), item[1]))
    chosen: list[str] = []
    for _, path in scored:
        for candidate in [path, *_tests_of(path, contents)]:
            if candidate not in chosen:
                chosen.append(candidate)
    shown, used = [], 0
    for path in chosen:
        size = min(len(contents[path]), MAX_FILE_CHARS)
        if used + size > SHOWN_CHARS:
            continue
        shown.append(path)
        used += size
    return shown


def view(text: str) -> str:
    """A file as shown up front: numbered, cut at MAX_FILE_CHARS with a note."""
    lines = text.rstrip("\n").split("\n")
    width = len(str(len(lines)))
    out, used = [], 0
    for number, line in enumerate(lines, 1):
        row = f"{number:>{width}}| {line}"
        if used + len(row) > MAX_FILE_CHARS:
            out.append(
                f"[lines {number}-{len(lines)} not shown: read_file with start_line={number}]"
            )
            break
        out.append(row)
        used += len(row) + 1
    return "\n".join(out)


def _identifiers(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _COMMON


def _named(path: str, issue_text: str) -> int:
    pure = PurePosixPath(path)
    module = ".".join(pure.with_suffix("").parts)
    lowered = issue_text.lower()
    if path.lower() in lowered or module.lower() in lowered:
        return 2
    return 1 if re.search(rf"\b{re.escape(pure.name.lower())}\b", lowered) else 0


def _is_test(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.startswith("test_") or name.endswith("_test.py") or "/tests/" in f"/{path}"


def _tests_of(path: str, contents: Mapping[str, str]) -> list[str]:
    if _is_test(path):
        return []
    stem = PurePosixPath(path).stem
    return sorted(
        other
        for other in contents
        if _is_test(other) and PurePosixPath(other).stem in (f"test_{stem}", f"{stem}_test")
    )
