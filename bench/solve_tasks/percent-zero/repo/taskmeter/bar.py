"""A one-line text progress bar."""

from taskmeter.progress import percent


def bar(done: int, total: int, width: int = 20) -> str:
    """ "[#####...............]  25.0%" for 1 of 4."""
    share = percent(done, total)
    filled = int(width * share / 100)
    return "[" + "#" * filled + "." * (width - filled) + f"] {share:5.1f}%"
