"""A tiny grep for log files."""

from greplite.search import find_lines

__all__ = ["find_lines"]
