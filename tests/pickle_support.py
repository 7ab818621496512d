"""A pickled arq job whose loading runs a command: what someone who can write to Redis queues."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from arq.jobs import serialize_job


class Touch:
    """Unpickling it runs `touch marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def pickled_job(function: str, marker: Path) -> bytes:
    """A job as arq writes it by default (pickle), whose arguments run `touch` on loading."""
    return serialize_job(function, ("issues", "x", Touch(marker)), {}, None, 1)
