"""The bot's branch names, `pilot/issue-<n>-<slug>`: made once, read back from any event."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


def is_run_branch(branch: str, issue: int) -> bool:
    """Whether `branch` is one `branch_name` gives the issue (whatever its title was then)."""
    slug = r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?"
    return re.fullmatch(rf"pilot/issue-{issue}-{slug}", branch) is not None


def branch_name(issue: int, title: str) -> str:
    """`pilot/issue-<n>-<slug>`, with a slug git and people can both read."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    slug = slug[:40].rstrip("-") or "work"
    return f"pilot/issue-{issue}-{slug}"


# `branch_name` always puts a slug after the number.
PILOT_BRANCH = re.compile(r"^pilot/issue-(\d+)-")


def issue_of_branch(branch: object) -> int | None:
    """The issue a pilot branch works on; None for any other branch (or no branch)."""
    if not isinstance(branch, str):
        return None
    match = PILOT_BRANCH.match(branch)
    return int(match.group(1)) if match else None


def issues_of_branches(branches: Iterable[object]) -> tuple[int, ...]:
    """The issues of the pilot branches among `branches`, each once, in order."""
    found = (issue_of_branch(b) for b in branches)
    return tuple(sorted({n for n in found if n is not None}))
