"""@mentions."""

import re
from typing import List

_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{2,30})")


def mentions(text: str) -> List[str]:
    """The names mentioned in `text`, in order, each once."""
    seen: List[str] = []
    for name in _MENTION.findall(text):
        if name not in seen:
            seen.append(name)
    return seen


def highlight(text: str) -> str:
    """Each mention wrapped in <b> tags."""
    return _MENTION.sub(lambda match: f"<b>@{match.group(1)}</b>", text)
