"""Version numbers like "1.4.2"."""

from typing import Tuple


def parse_version(text: str) -> Tuple[int, ...]:
    """ "1.4.2" -> (1, 4, 2); a leading "v" is allowed."""
    text = text.strip().lstrip("v")
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        raise ValueError(f"not a version: {text!r}") from None


def is_newer(candidate: str, current: str) -> bool:
    """Whether `candidate` is a later version than `current`."""
    return candidate > current
