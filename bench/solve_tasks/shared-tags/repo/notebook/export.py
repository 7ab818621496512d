"""Markdown export."""

from notebook.notes import Note


def to_markdown(note: Note) -> str:
    """A heading, the tags as a line of #hashtags, then the body."""
    lines = [f"# {note.title}"]
    if note.tags:
        lines.append(" ".join(f"#{tag}" for tag in note.tags))
    if note.body:
        lines.extend(["", note.body])
    return "\n".join(lines) + "\n"
