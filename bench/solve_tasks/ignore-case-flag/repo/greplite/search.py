"""Finding the lines that contain a pattern."""

from typing import Iterable, List, Tuple

Match = Tuple[int, str]


def find_lines(lines: Iterable[str], pattern: str, ignore_case: bool = False) -> List[Match]:
    """(line number from 1, line) for each line containing `pattern`."""
    found: List[Match] = []
    for number, line in enumerate(lines, start=1):
        if pattern in line:
            found.append((number, line.rstrip("\n")))
    return found


def count_lines(lines: Iterable[str], pattern: str) -> int:
    """How many lines contain `pattern`."""
    return len(find_lines(lines, pattern))
