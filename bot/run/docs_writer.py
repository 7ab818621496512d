"""The technical writer's trigger: from a run's diff against the base branch and the repository's
docs, the facts that make the docs untrue or incomplete (a CLI flag, a public name, a config key
they mention, or one added beside those they mention) and the doc files to touch.

Pure and deliberately narrow: a docs requirement costs model calls, so it is only asked for when
a doc file exists and the change is of a kind docs describe. Names that are plain words (`name`,
`run`) count as mentioned only in code spans, so prose that happens to use the word does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

MAX_DIFF_CHARS = 4_000_000
MAX_DOC_FILES = 50
MAX_DOC_CHARS = 256 * 1024
MIN_NAME_CHARS = 3  # `id`, `x`: too short to say anything about the docs

Kind = Literal["flag", "name", "key"]
_KIND_WORDS: dict[Kind, str] = {"flag": "flag", "name": "public name", "key": "config key"}
_KINDS: tuple[Kind, ...] = ("flag", "name", "key")

# A call that declares a command-line option: argparse, optparse, click, typer.
_OPTION_CALL = re.compile(r"\b(?:add_argument|add_option|option|Option)\s*\(")
_LONG_FLAG = re.compile(r"""["'](--[A-Za-z0-9][\w-]*)["']""")
_DEF = re.compile(r"^(\s*)(?:async\s+def|def|class)\s+([A-Za-z]\w*)")
# A class attribute with an annotation (a pydantic Settings or dataclass field), one level in.
_FIELD = re.compile(r"^ {4}([a-z][a-z0-9_]*)\s*:\s*[^=\s]")
_YAML_KEY = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*:(?:\s|$)")
_TOML_KEY = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*=")
_TOML_TABLE = re.compile(r"^\s*\[+\s*([A-Za-z_][\w.-]*)\s*\]+")
_SECTION = re.compile(r"^[A-Za-z_$]")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@ ?(.*)$")
_INLINE_CODE = re.compile(r"`+([^`\n]+)`+")
_FENCE = re.compile(r"^\s*(```|~~~)")
_DOC_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ""}
_SKIPPED_DIRS = {"node_modules", "vendor", "third_party", ".git", "site-packages"}


@dataclass(frozen=True)
class DocsNeed:
    facts: list[str]  # such as "flag `--shout` added in `cli.py`; README.md mentions `--name` …"
    docs: list[str]  # the doc files those facts concern


@dataclass
class _Names:
    """What one side of a file's diff declares, by kind, and which of those are top-level."""

    found: dict[Kind, set[str]] = field(default_factory=dict)
    top_level: set[str] = field(default_factory=set)

    def add(self, kind: Kind, name: str, top_level: bool = True) -> None:
        if len(name.lstrip("-")) >= MIN_NAME_CHARS:
            self.found.setdefault(kind, set()).add(name)
            if top_level:
                self.top_level.add(name)

    def of(self, kind: Kind) -> set[str]:
        return self.found.get(kind, set())


@dataclass
class _FileDiff:
    path: str
    removed: _Names = field(default_factory=_Names)
    added: _Names = field(default_factory=_Names)
    context: _Names = field(default_factory=_Names)


def is_doc_path(path: str) -> bool:
    """README* anywhere (outside vendored trees) and the Markdown or reST files under docs/."""
    parts = PurePosixPath(path).parts
    if not parts or _SKIPPED_DIRS.intersection(parts[:-1]):
        return False
    name = PurePosixPath(path)
    if name.name.upper().startswith("README") and name.suffix.lower() in _DOC_SUFFIXES:
        return True
    return parts[0] == "docs" and name.suffix.lower() in {".md", ".markdown", ".rst"}


def doc_paths(paths: Iterable[str]) -> list[str]:
    """The doc files among `paths` worth reading, the top-level README first."""
    found = sorted((p for p in paths if is_doc_path(p)), key=lambda p: (p.count("/"), p))
    return found[:MAX_DOC_FILES]


def needs_docs(diff: str, docs: Mapping[str, str]) -> DocsNeed | None:
    """What in `diff` the `docs` (path → text) describe, or None when they need no update."""
    if not docs:
        return None
    views = {path: _DocView(text[:MAX_DOC_CHARS]) for path, text in docs.items()}
    facts: list[str] = []
    touched: set[str] = set()
    for changed in _parse(diff[:MAX_DIFF_CHARS]):
        if is_doc_path(changed.path) or _is_test(changed.path):
            continue
        for kind in _KINDS:
            for fact, paths in _facts(changed, kind, views):
                facts.append(fact)
                touched.update(paths)
    if not facts:
        return None
    return DocsNeed(facts, sorted(touched, key=lambda p: (p.count("/"), p)))


def _facts(
    changed: _FileDiff, kind: Kind, views: Mapping[str, _DocView]
) -> Iterable[tuple[str, list[str]]]:
    removed, added = changed.removed.of(kind), changed.added.of(kind)
    where = f"`{changed.path}`"
    what = _KIND_WORDS[kind]
    for name in sorted(removed | added):
        mentioned = [path for path, view in views.items() if view.mentions(name, kind)]
        change = (
            "changed in" if name in removed and name in added
            else "removed from" if name in removed
            else "added in"
        )  # fmt: skip
        if mentioned:
            yield f"{what} `{name}` {change} {where}; {_mention(mentioned)}", mentioned
        elif change == "added in" and (kind != "name" or name in changed.added.top_level):
            # Docs that describe its neighbours in the same file describe this one too.
            neighbours = _neighbours(changed, kind, name)
            for path, view in views.items():
                beside = sorted(n for n in neighbours if view.mentions(n, kind))
                if beside:
                    yield (
                        f"{what} `{name}` added in {where}; {path} mentions "
                        + ", ".join(f"`{n}`" for n in beside[:3])
                        + " beside it",
                        [path],
                    )


def _neighbours(changed: _FileDiff, kind: Kind, name: str) -> set[str]:
    sides = (changed.context, changed.removed, changed.added)
    names = set().union(*(side.of(kind) for side in sides)) - {name}
    if kind == "name":
        names &= set().union(*(side.top_level for side in sides))
    if kind == "flag":
        # A doc that names the script (`cli.py`) describes how it is run.
        names.add(PurePosixPath(changed.path).name)
    return names


def _mention(paths: list[str]) -> str:
    return f"{paths[0]} mentions it" if len(paths) == 1 else f"{', '.join(paths)} mention it"


class _DocView:
    """A doc's text, and its code (inline spans and fenced blocks) apart."""

    def __init__(self, text: str) -> None:
        self.text = text
        code: list[str] = []
        fenced = False
        for line in text.splitlines():
            if _FENCE.match(line):
                fenced = not fenced
            elif fenced:
                code.append(line)
            else:
                code.extend(_INLINE_CODE.findall(line))
        self.code = "\n".join(code)

    def mentions(self, name: str, kind: Kind) -> bool:
        if name.startswith("--"):
            return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", self.text) is not None
        flags = re.IGNORECASE if kind == "key" else 0
        # A key is also mentioned as its environment variable (`max_steps`, `PILOT_MAX_STEPS`).
        edge = "A-Za-z0-9" if kind == "key" else r"\w"
        pattern = re.compile(rf"(?<![{edge}]){re.escape(name)}(?![{edge}])", flags)
        distinctive = any(c in name for c in "_-.") or name != name.lower()
        return pattern.search(self.text if distinctive else self.code) is not None


def _is_test(path: str) -> bool:
    pure = PurePosixPath(path)
    if {"test", "tests", "testing"}.intersection(pure.parts[:-1]):
        return True
    stem = pure.stem
    return stem.startswith("test_") or stem.endswith("_test") or pure.name == "conftest.py"


def _parse(diff: str) -> list[_FileDiff]:
    files: list[_FileDiff] = []
    current: _FileDiff | None = None
    old_path: str | None = None
    section = ""
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            current, old_path = None, None
        elif current is None and line.startswith("--- "):
            old_path = _header_path(line[4:])
        elif current is None and line.startswith("+++ "):
            path = _header_path(line[4:]) or old_path
            if path is not None:
                current = _FileDiff(path)
                files.append(current)
        elif current is not None and (hunk := _HUNK.match(line)):
            section = hunk.group(1)
        elif current is not None and line:
            side = {" ": current.context, "-": current.removed, "+": current.added}.get(line[0])
            if side is not None:
                _declared(current.path, line[1:], section, side)
                if _SECTION.match(line[1:]):
                    section = line[1:]  # as git's hunk headers do: the last unindented line
    return files


def _header_path(raw: str) -> str | None:
    raw = raw.strip().strip('"')
    if raw == "/dev/null":
        return None
    return raw[2:] if raw[:2] in {"a/", "b/"} else raw


def _declared(path: str, line: str, section: str, names: _Names) -> None:
    """Adds to `names` what `line` of `path` declares."""
    stripped = line.lstrip()
    if stripped.startswith("#"):
        return
    suffix = PurePosixPath(path).suffix.lower()
    name = PurePosixPath(path).name.lower()
    if suffix == ".py":
        if _OPTION_CALL.search(line):
            for flag in _LONG_FLAG.findall(line):
                names.add("flag", flag)
        declared = _DEF.match(line)
        if declared:
            names.add("name", declared.group(2), top_level=not declared.group(1))
        elif section.startswith("class ") and (settings := _FIELD.match(line)):
            names.add("key", settings.group(1))
    elif "lock" in name:
        return  # lock files are written by tools, never described by docs
    elif suffix in {".yml", ".yaml"}:
        if key := _YAML_KEY.match(line):
            names.add("key", key.group(1))
    elif suffix == ".toml":
        if key := _TOML_KEY.match(line) or _TOML_TABLE.match(line):
            names.add("key", key.group(1))
