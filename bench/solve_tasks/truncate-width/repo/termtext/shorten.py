"""Making text fit."""

ELLIPSIS = "…"


def truncate(text: str, width: int) -> str:
    """`text` in at most `width` characters; cut text ends in an ellipsis."""
    if width < 1:
        raise ValueError("width must be at least 1")
    if len(text) <= width:
        return text
    return text[:width] + ELLIPSIS
