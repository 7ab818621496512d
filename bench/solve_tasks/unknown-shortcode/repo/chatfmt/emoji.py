"""Emoji shortcodes such as :smile:."""

import re

SHORTCODES = {
    "smile": "\U0001F604",
    "heart": "\u2764\ufe0f",
    "thumbsup": "\U0001F44D",
    "tada": "\U0001F389",
    "eyes": "\U0001F440",
}
_CODE = re.compile(r":([a-z_]+):")


def replace_shortcodes(text: str) -> str:
    """Every known :code: in `text` replaced by its emoji."""
    return _CODE.sub(lambda match: SHORTCODES[match.group(1)], text)
