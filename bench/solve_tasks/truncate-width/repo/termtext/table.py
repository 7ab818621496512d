"""Fixed-width columns."""

from typing import List, Sequence

from termtext.shorten import truncate


def table(rows: Sequence[Sequence[str]], widths: Sequence[int], gap: str = " | ") -> List[str]:
    """Each row's cells cut and padded to their column's width, joined by `gap`."""
    lines = []
    for row in rows:
        cells = [truncate(cell, width).ljust(width) for cell, width in zip(row, widths)]
        lines.append(gap.join(cells).rstrip())
    return lines
