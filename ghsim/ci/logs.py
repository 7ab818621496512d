"""Job logs on disk, one plain-text file per job, lines stamped the way GitHub's runner does."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path


def stamp(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


class JobLog:
    """Appends timestamped lines to a job's log file; partial output is held until its newline."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._partial = b""

    def line(self, text: str) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            for part in text.splitlines() or [""]:
                fh.write(f"{stamp()} {part}\n")

    def output(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        for raw in lines:
            self.line(raw.decode("utf-8", "replace").rstrip("\r"))

    def flush(self) -> None:
        if self._partial:
            rest, self._partial = self._partial, b""
            self.line(rest.decode("utf-8", "replace"))


def log_path(data_dir: Path, job_id: int) -> Path:
    return data_dir / "ci-logs" / f"job-{job_id}.txt"
