"""Text helpers for terminal reports."""

from termtext.shorten import truncate
from termtext.table import table
from termtext.wrap import indent

__all__ = ["indent", "table", "truncate"]
