"""The status comment: one per issue, with a hidden machine-readable state block."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot.github import Comment
from bot.templates import render

MARKER = "<!-- pilot:state"
_STATE = re.compile(r"<!-- pilot:state (\{.*?\}) -->", re.DOTALL)


def render_status(
    headline: str,
    state: dict[str, Any],
    checklist: str = "",
    facts: Sequence[str] = (),
) -> str:
    # "--" inside an HTML comment would end it early on GitHub's renderer.
    state_json = json.dumps(state, sort_keys=True).replace("--", "\\u002d\\u002d")
    return render(
        "comments/status.md.j2",
        headline=headline,
        checklist=checklist,
        facts=list(facts),
        state_json=state_json,
    )


def parse_state(body: str) -> dict[str, Any] | None:
    match = _STATE.search(body)
    if match is None:
        return None
    try:
        state = json.loads(match.group(1))
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def find_status_comment(comments: Iterable[Comment], bot_login: str) -> Comment | None:
    """The App's own status comment; a person or another bot quoting the marker does not count."""
    for comment in comments:
        if comment.author == bot_login and MARKER in comment.body:
            return comment
    return None
