"""People's text as github.com shows it: what a reader cannot see taken out before any prompt
(pure).

Removed, each counted as one fragment:
- HTML comments, multi-line ones too; an unclosed `<!--` hides the rest of the text, so all
  of it goes. Comments inside code blocks go as well: the agent may lose a visible line of
  code, never gain an invisible one.
- Markdown link reference definitions (`[//]: # (note)`), which GitHub renders as nothing.
- Every maximal run of invisible characters: Unicode category Cf (zero-width space and
  joiners, bidi embeddings, overrides and isolates, soft hyphen, word joiner, BOM, the tag
  characters U+E0000-E007F that spell ASCII invisibly), variation selectors other than the
  emoji/text presentation ones (U+FE0E, U+FE0F) since long runs of them smuggle bytes, the
  combining grapheme joiner and the Hangul fillers, which render as blank.

Kept: a zero-width joiner between two emoji (family and profession sequences render as one
picture), and U+FE0E/U+FE0F. Subdivision flags (which spell their region in tag
characters) become a plain black flag, and the ZWNJ/ZWJ of Persian or Indic text are
removed: a cosmetic loss, not a change of meaning.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# CommonMark: `<!-->` and `<!--->` are complete comments; otherwise up to the first `-->`.
_COMMENT = re.compile(r"<!--(?:-?>|.*?-->)|<!--.*\Z", re.DOTALL)
_REFERENCE = re.compile(
    r"^ {0,3}\[[^\]\n]+\]:[ \t]*(?:<[^>\n]*>|\S+)"
    r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*(?:\n|\Z)",
    re.MULTILINE,
)
_ZWJ = "\u200d"
_PRESENTATION = frozenset("\ufe0e\ufe0f")
_BLANK_LETTERS = frozenset("\u034f\u115f\u1160\u3164\uffa0")


@dataclass(frozen=True)
class Stripped:
    text: str
    fragments: int  # how many hidden pieces were taken out


def is_invisible(char: str) -> bool:
    if char in _PRESENTATION:
        return False
    code = ord(char)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:
        return True  # variation selectors
    return char in _BLANK_LETTERS or unicodedata.category(char) == "Cf"


def _is_emoji(char: str) -> bool:
    code = ord(char)
    # Pictographs, dingbats and symbols, and the presentation selector and skin tones
    # that may end an emoji before a joiner.
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2190 <= code <= 0x21FF
        or 0x2B00 <= code <= 0x2BFF
        or char == "\ufe0f"
    )


def _without_invisible(text: str) -> Stripped:
    kept: list[str] = []
    fragments = 0
    in_run = False
    for index, char in enumerate(text):
        if char == _ZWJ and _joins_emoji(text, index):
            kept.append(char)
            in_run = False
            continue
        if is_invisible(char):
            if not in_run:
                fragments += 1
            in_run = True
            continue
        in_run = False
        kept.append(char)
    return Stripped("".join(kept), fragments)


def _joins_emoji(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return bool(before and after) and _is_emoji(before) and _is_emoji(after)


def strip_hidden(text: str) -> Stripped:
    """`text` without what github.com does not show, and how many pieces that was."""
    # Invisible characters first: that can only make more text a comment, never less.
    visible = _without_invisible(text)
    without_comments, comments = _COMMENT.subn("", visible.text)
    without_references, references = _REFERENCE.subn("", without_comments)
    return Stripped(without_references, visible.fragments + comments + references)
