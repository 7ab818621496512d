"""Text for the dashboard's pages: ages as people say them, and what untrusted text may
become there: plain strings, a little emphasis, links that are http(s) or nothing.

Titles come from issues and headlines quote the model; they leave here for autoescaping
templates and `textContent` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_INLINE = re.compile(r"(\*\*[^*\n]+\*\*|`[^`\n]+`)")


@dataclass(frozen=True)
class Segment:
    """A piece of a headline: plain text, or text GitHub would draw bold or as code."""

    kind: str  # "text" | "strong" | "code"
    text: str


def age(seconds: float) -> str:
    """How long ago, as a person says it: "just now", "3 min ago", "2 days ago"."""
    s = int(seconds)
    if s < 10:
        return "just now"
    if s < 60:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 86400:
        return f"{s // 3600} h ago"
    days = s // 86400
    return f"{days} day ago" if days == 1 else f"{days} days ago"


def safe_url(url: object) -> str | None:
    """The URL if it is an absolute http(s) one; anything else (javascript:, data:) is None."""
    if not isinstance(url, str) or any(c in url for c in "\x00\r\n\t "):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def segments(text: str | None) -> list[Segment]:
    """A headline's `**bold**` and `` `code` `` as segments; no markup survives as markup."""
    out: list[Segment] = []
    for piece in _INLINE.split(text or ""):
        if not piece:
            continue
        if piece.startswith("**") and piece.endswith("**") and len(piece) > 4:
            out.append(Segment("strong", piece[2:-2]))
        elif piece.startswith("`") and piece.endswith("`") and len(piece) > 2:
            out.append(Segment("code", piece[1:-1]))
        else:
            out.append(Segment("text", piece))
    return out
