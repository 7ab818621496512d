"""Splitting sequences into batches and windows."""

from typing import Iterable, List, Sequence, TypeVar

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> List[List[T]]:
    """Consecutive lists of at most `size` items, covering `items` in order."""
    if size < 1:
        raise ValueError("size must be at least 1")
    return [list(items[i : i + size]) for i in range(0, len(items) - size + 1, size)]


def windows(items: Sequence[T], size: int) -> List[List[T]]:
    """Every run of exactly `size` neighbouring items (sliding windows)."""
    if size < 1:
        raise ValueError("size must be at least 1")
    return [list(items[i : i + size]) for i in range(0, len(items) - size + 1)]


def flatten(batches: Iterable[Iterable[T]]) -> List[T]:
    """The items of every batch, one list."""
    return [item for batch in batches for item in batch]
