"""The demo's children (bot/dev/stack.py): stopped last started first, the model server at once."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bot.dev.stack import Processes

# A child that shrugs off SIGTERM, as a server writing a long reply does until it is done.
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True);"
    " time.sleep(120)",
]


def started(tmp_path: Path, stateless: bool) -> Processes:
    procs = Processes(tmp_path)
    procs.start("model", STUBBORN, {}, tmp_path, stateless=stateless)
    deadline = time.monotonic() + 20
    while "up" not in procs.log_path("model").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    return procs


def test_a_stateless_child_is_killed_without_waiting_out_its_shutdown(tmp_path: Path) -> None:
    procs = started(tmp_path, stateless=True)
    proc = procs.procs["model"]
    since = time.monotonic()
    assert procs.stop() == ["model"]
    assert time.monotonic() - since < 5
    assert proc.returncode == -9
    assert procs.stop() == []
