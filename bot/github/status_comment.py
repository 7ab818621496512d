"""The status comment: one per issue, with a hidden machine-readable state block."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.core.comment_json import comment_json
from bot.core.templates import render
from bot.core.text import cut
from bot.github.api import Comment

MARKER = "<!-- pilot:state"
_STATE = re.compile(r"<!-- pilot:state (\{.*?\}) -->", re.DOTALL)
# GitHub refuses a comment body over 65,536 characters (code points; some measure a limit of
# 262,144 UTF-8 bytes instead: 60,000 code points are at most 240,000 bytes). Every save of a
# run's state rewrites the comment: one refused body would leave the run unable to move on.
MAX_STATUS_CHARS = 60_000
# What the visible report keeps when it must make room for the state block.
_HEADLINE_CHARS = 1_000
_FACT_CHARS = 500
_FACTS = 20
_MIN_CHECKLIST_CHARS = 200


class StatusTooLong(ValueError):
    """The state block alone leaves no room for a headline under MAX_STATUS_CHARS."""


def defang(text: str) -> str:
    """`text` with every HTML comment opener broken by a zero-width joiner: quoted output or a
    model's words can then never pass for the state block (or hide text from readers)."""
    return text.replace("<!--", "<!\u200d--")


def _render(headline: str, state_json: str, checklist: str, facts: Sequence[str]) -> str:
    return render(
        "comments/status.md.j2",
        headline=defang(headline),
        checklist=defang(checklist),
        facts=[defang(fact) for fact in facts],
        state_json=state_json,
    )


def render_status(
    headline: str,
    state: Mapping[str, Any],
    checklist: str = "",
    facts: Sequence[str] = (),
) -> str:
    """The comment's body, never over MAX_STATUS_CHARS: the visible report gives way (headline,
    facts, then the checklist cut) to the state block; a state block too big for even a short
    headline raises StatusTooLong (the run engine bounds its state: bot/run/state_bounds.py)."""
    state_json = comment_json(state)
    body = _render(headline, state_json, checklist, facts)
    if len(body) <= MAX_STATUS_CHARS:
        return body
    headline = cut(headline, _HEADLINE_CHARS)
    facts = [cut(fact, _FACT_CHARS) for fact in facts[:_FACTS]]
    # The template puts blank lines around a checklist and `defang` adds a character to each
    # "<!--" in it: the first cut may be a little long, the next ones are shorter.
    limit = MAX_STATUS_CHARS - len(_render(headline, state_json, "", facts))
    while checklist and limit >= _MIN_CHECKLIST_CHARS:
        body = _render(headline, state_json, cut(checklist, limit), facts)
        if len(body) <= MAX_STATUS_CHARS:
            return body
        limit = limit * 4 // 5
    shorter = _render(cut(headline, 200), state_json, "", [])
    for shown in (_render(headline, state_json, "", facts), shorter):
        if len(shown) <= MAX_STATUS_CHARS:
            return shown
    raise StatusTooLong(f"a state block of {len(state_json):,} characters")


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


# A top-level key and a JSON scalar after it. Inside a JSON string every quote is escaped, so a
# `{` or `,` right before a quoted key is only ever the block's own structure.
_SCALAR = re.compile(
    r'[{,]\s*"([A-Za-z_]+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false)'
)


def salvage_state(body: str, keys: Iterable[str]) -> dict[str, Any]:
    """What can still be read of `keys` from a state block that does not parse (cut short, or
    edited by hand): the first scalar value written after each, wherever it stands. The caller
    chooses keys no nested object of its state has."""
    wanted = set(keys)
    start = body.rfind(MARKER)
    found: dict[str, Any] = {}
    if start < 0:
        return found
    for match in _SCALAR.finditer(body, start + len(MARKER)):
        key = match.group(1)
        if key not in wanted or key in found:
            continue
        try:
            found[key] = json.loads(match.group(2))
        except ValueError:
            continue
    return found


def find_status_comment(comments: Iterable[Comment], bot_login: str) -> Comment | None:
    """The App's own status comment; a person or another bot quoting the marker does not count."""
    for comment in comments:
        if comment.author == bot_login and MARKER in comment.body:
            return comment
    return None
