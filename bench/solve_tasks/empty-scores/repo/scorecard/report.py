"""The lines the dashboard shows for a class."""

from typing import Optional, Sequence

from scorecard.stats import mean


def summary(scores: Sequence[float]) -> str:
    """One line: how many scores and their average, to two decimals."""
    return f"{len(scores)} scores, average {mean(scores):.2f}"


def best(scores: Sequence[float]) -> Optional[float]:
    """The highest score, or None when there is none."""
    return max(scores) if scores else None
