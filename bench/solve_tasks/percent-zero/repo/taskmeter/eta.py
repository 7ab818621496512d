"""Estimated time to completion."""

from typing import Optional


def eta_seconds(done: int, total: int, elapsed_s: float) -> Optional[float]:
    """Seconds left at the rate so far; None before anything is done."""
    if done <= 0:
        return None
    remaining = max(0, total - done)
    return elapsed_s / done * remaining
