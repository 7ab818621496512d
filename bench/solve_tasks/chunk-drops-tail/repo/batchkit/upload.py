"""Uploading records batch by batch."""

from typing import Any, Callable, List, Sequence

from batchkit.batching import chunks

Send = Callable[[List[Any]], None]


def upload_all(records: Sequence[Any], send: Send, batch_size: int = 100) -> int:
    """Sends every record, `batch_size` at a time; returns how many were sent."""
    sent = 0
    for batch in chunks(records, batch_size):
        send(batch)
        sent += len(batch)
    return sent
