"""The issue text a run works from: the title and body as the labeller saw them, without hidden
content, with a hash of what GitHub held, so a later edit can be told apart (pure)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from bot.core.comment_json import json_chars
from bot.core.hidden import strip_hidden

# The snapshot (and a pending edit) live in the status comment's state block, which GitHub
# caps at 65,536 characters with the rest of the state: each body gets this much of it. A
# longer body keeps its head; the run reads the whole text back from GitHub while the issue
# still holds what the hash names (bot/run/issue_text.py).
MAX_STATE_CHARS = 15_000


def digest(title: str, body: str) -> str:
    """The hash of an issue's title and body exactly as GitHub holds them."""
    return hashlib.sha256(json.dumps([title, body]).encode()).hexdigest()


@dataclass(frozen=True)
class IssueSnapshot:
    title: str
    body: str
    sha256: str
    hidden: int = 0  # hidden fragments taken out of the title and body
    cut: bool = False  # the body was longer than the state block holds

    @classmethod
    def take(cls, title: str, body: str, limit: int | None = MAX_STATE_CHARS) -> IssueSnapshot:
        """The visible text of `title` and `body`, the body within `limit` characters of the
        state block (None: all of it)."""
        visible_title, visible_body = strip_hidden(title), strip_hidden(body)
        kept, cut = _fit(visible_body.text, limit)
        return cls(
            title=" ".join(visible_title.text.split()),
            body=kept,
            sha256=digest(title, body),
            hidden=visible_title.fragments + visible_body.fragments,
            cut=cut,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> IssueSnapshot | None:
        """What a state block holds, or None when it holds nothing usable."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                title=str(data["title"]),
                body=str(data["body"]),
                sha256=str(data["sha256"]),
                hidden=int(data.get("hidden") or 0),
                cut=bool(data.get("cut")),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _fit(text: str, limit: int | None) -> tuple[str, bool]:
    """`text`, shortened until its JSON form fits `limit` (bot/core/comment_json.py)."""
    if limit is None or json_chars(text) <= limit:
        return text, False
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if json_chars(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low], True
