"""Averages."""

from typing import Sequence


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean of `values`."""
    return sum(values) / len(values)


def median(values: Sequence[float]) -> float:
    """The middle value of `values` (the mean of the two middle ones for an even count)."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2
