"""Edits a `.env` file in place: our assignments replaced or added, every other line kept."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
_PLAIN = re.compile(r"^[A-Za-z0-9_./:@+,-]*$")


def _name(line: str) -> str | None:
    found = _ASSIGNMENT.match(line)
    return found.group(1) if found else None


def read(path: Path) -> dict[str, str]:
    """The assignments of a `.env` file, read by python-dotenv: the parser the settings
    themselves read it with, so `setup` sees what the bot will."""
    if not path.exists():
        return {}
    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def _quoted(value: str) -> str:
    if _PLAIN.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by its owner only from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    # A fresh file, never one left there (or a link planted there) to write through.
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is narrowed by the umask, never widened; be exact
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def update(
    path: Path, values: Mapping[str, str], drop: Iterable[str] = (), header: str = ""
) -> None:
    """Set ``values`` in the file, remove the ``drop`` names, keep every other line.

    An existing assignment is replaced where it stands (later duplicates go); new ones are
    appended under ``header``. The file holds secrets, so it is written owner-only.
    """
    dropped = set(drop) - set(values)
    lines = path.read_text().splitlines() if path.exists() else []
    kept: list[str] = []
    placed: set[str] = set()
    for line in lines:
        name = _name(line)
        if name in dropped or name in placed:
            continue
        if name is not None and name in values:
            kept.append(f"{name}={_quoted(values[name])}")
            placed.add(name)
            continue
        kept.append(line)
    missing = [name for name in values if name not in placed]
    if missing:
        if kept and kept[-1].strip():
            kept.append("")
        if header:
            kept.append(f"# {header}")
        kept += [f"{name}={_quoted(values[name])}" for name in missing]
    write_private(path, "\n".join(kept) + "\n")
