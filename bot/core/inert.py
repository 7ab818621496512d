"""Markdown that untrusted text (issue titles, the model's questions, command output) cannot
turn into pings, links, images, HTML or a fake state block on GitHub (pure)."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]+")
_MARKDOWN = re.compile(r"([\\`*_\[\]()#!|~&])")
# GitHub links `@user`, `@org/team` and `#12`; a zero-width joiner after the sigil stops it.
_PINGS = re.compile(r"([@#])(?=[A-Za-z0-9])")


def neutralise(text: str, limit: int | None = None) -> str:
    """One inert markdown line: no pings, no HTML or comments, no list-breaking newlines."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = _PINGS.sub("\\1\u200d", text)
    text = _MARKDOWN.sub(r"\\\1", text)
    # Entities rather than escapes: the raw comment body must never hold `<!--`, or a title
    # could fake the status comment's hidden state block.
    return text.replace("<", "&lt;").replace(">", "&gt;")


def neutralise_lines(text: str) -> str:
    """`text` line by line as `neutralise` makes it: readable prose, nothing live in it."""
    lines = [neutralise(line) for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def fence_for(text: str) -> str:
    """A backtick fence longer than any backtick run in `text`, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE)


def without_credentials(text: str) -> str:
    """`text` with the user and password of any URL in it replaced (an LLM endpoint or a git
    remote quoted in an error must not publish them)."""
    return _USERINFO.sub(r"\1***@", text)
