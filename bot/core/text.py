"""Text from commands and people, made safe to store and cheap to read."""

from __future__ import annotations


def decode(data: bytes) -> str:
    """Text from bytes a command or file produced, whatever they hold.

    Invalid UTF-8 becomes U+FFFD and NUL bytes are dropped, so binary output never breaks
    JSON encoding of the conversation or the trajectory.
    """
    return data.decode("utf-8", errors="replace").replace("\x00", "")


def cut(text: str, limit: int) -> str:
    """`text` kept within about `limit` characters: its head and tail around a marker that
    says how much was cut (the tail usually holds the error, the head the command's context)."""
    if limit <= 0 or len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    removed = len(text) - head - tail
    return f"{text[:head]}\n[... {removed} characters cut ...]\n{text[len(text) - tail :]}"
