"""The status comment: one per issue, with a hidden machine-readable state block."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot.core.templates import render
from bot.github.api import Comment

MARKER = "<!-- pilot:state"
_STATE = re.compile(r"<!-- pilot:state (\{.*?\}) -->", re.DOTALL)


def defang(text: str) -> str:
    """`text` with every HTML comment opener broken by a zero-width joiner: quoted output or a
    model's words can then never pass for the state block (or hide text from readers)."""
    return text.replace("<!--", "<!\u200d--")


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
        headline=defang(headline),
        checklist=defang(checklist),
        facts=[defang(fact) for fact in facts],
        state_json=state_json,
    )


def parse_state(body: str) -> dict[str, Any] | None:
    # The block is the comment's last line; anything before it is text, whatever it says.
    matches = _STATE.findall(body)
    if not matches:
        return None
    try:
        state = json.loads(matches[-1])
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def find_status_comment(comments: Iterable[Comment], bot_login: str) -> Comment | None:
    """The App's own status comment; a person or another bot quoting the marker does not count."""
    for comment in comments:
        if comment.author == bot_login and MARKER in comment.body:
            return comment
    return None
