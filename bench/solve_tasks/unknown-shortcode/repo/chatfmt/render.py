"""A message as the web client shows it."""

import html

from chatfmt.emoji import replace_shortcodes
from chatfmt.mentions import highlight


def render(message: str) -> str:
    """Escaped HTML with emoji and highlighted mentions."""
    return highlight(replace_shortcodes(html.escape(message)))
