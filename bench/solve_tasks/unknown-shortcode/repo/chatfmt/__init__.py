"""Chat message formatting."""

from chatfmt.emoji import replace_shortcodes
from chatfmt.mentions import mentions
from chatfmt.render import render

__all__ = ["mentions", "render", "replace_shortcodes"]
