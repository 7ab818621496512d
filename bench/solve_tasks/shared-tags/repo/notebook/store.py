"""The notes of one user."""

from typing import Dict, List

from notebook.notes import Note


class Store:
    def __init__(self) -> None:
        self._notes: Dict[str, Note] = {}

    def add(self, note: Note) -> None:
        self._notes[note.title] = note

    def tagged(self, tag: str) -> List[Note]:
        """The notes that carry `tag`, by title."""
        return sorted((n for n in self._notes.values() if n.has_tag(tag)), key=lambda n: n.title)
