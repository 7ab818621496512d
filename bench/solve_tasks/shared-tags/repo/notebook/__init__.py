"""Notes with tags."""

from notebook.export import to_markdown
from notebook.notes import Note
from notebook.store import Store

__all__ = ["Note", "Store", "to_markdown"]
