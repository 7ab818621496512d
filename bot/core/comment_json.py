"""JSON that can sit inside an HTML comment of a GitHub comment (the status comment's state
block), and text cut to fit a share of it, measured as it will be written (pure)."""

from __future__ import annotations

import json
from typing import Any

from bot.core.text import cut

# Inside an HTML comment "--" could end it (`-->`, `--!>`) or open another (`<!--`); "-\u002d"
# reads back the same and leaves no two dashes side by side, however many there were. The line
# and paragraph separators end a line for some markdown and JavaScript readers. Everything else
# is written as itself: escaping non-ASCII would make a Japanese answer six times as long.
_ESCAPES = (("--", "-\\u002d"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\x85", "\\u0085"))


def comment_json(value: Any) -> str:
    """`value` as one line of JSON that cannot end or open an HTML comment."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def json_chars(value: Any) -> int:
    """How many characters `value` takes in the state block."""
    return len(comment_json(value))


def fit_text(text: str, limit: int) -> str:
    """`text`, cut around the middle (head and tail kept, with how much went: bot/core/text.py)
    until its JSON form takes at most `limit` characters; "" when not even the marker fits."""
    if json_chars(text) <= limit:
        return text
    # Dashes and separators grow when escaped, so the length that fits is searched for.
    low, high = 0, min(len(text), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if json_chars(cut(text, middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    # The marker's count has fewer digits as more is kept: the search may land a step high.
    while low > 0 and json_chars(cut(text, low)) > limit:
        low -= 1
    # `cut` keeps all of a text it is given 0 for.
    return cut(text, low) if low > 0 else ""
