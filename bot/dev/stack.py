"""The processes the demo starts (ghsim, serve, worker, a local model), and only those stopped.

Each child runs in a session of its own: Ctrl-C in the terminal reaches the demo alone, which
then stops its children in reverse order (the worker before ghsim, so a run in flight lets go
of its sandbox before the GitHub it talks to goes away).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx


class DemoError(RuntimeError):
    """Something the demo needs did not start or did not answer; the message says what."""


def free_port(preferred: int) -> int:
    """`preferred` when nothing listens there, else any free port (a dev stack may hold it)."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise DemoError("no free port on 127.0.0.1")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Processes:
    """Started children, each with its log file under `log_dir`."""

    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)
    _stateless: set[str] = field(default_factory=set)

    def start(
        self, name: str, args: list[str], env: dict[str, str], cwd: Path, *, stateless: bool = False
    ) -> None:
        """`stateless`: a child with nothing to save (the model server) is killed on stop: a
        graceful shutdown would wait out the reply it is writing, minutes on a small CPU."""
        log = (self.log_dir / f"{name}.log").open("ab")
        self._logs.append(log)
        self.procs[name] = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=log, stderr=log, start_new_session=True
        )
        if stateless:
            self._stateless.add(name)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def tail(self, name: str, lines: int = 20) -> str:
        path = self.log_path(name)
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def check(self) -> None:
        """Raises naming a child that exited, with the end of its log."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise DemoError(
                    f"{name} exited with {proc.returncode}; the end of {self.log_path(name)}:\n"
                    + self.tail(name)
                )

    def wait_for(self, check: Callable[[], Any], what: str, timeout_s: float) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            self.check()
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise DemoError(f"{what} did not come within {timeout_s:.0f} s")
            time.sleep(0.1)

    def stop(self) -> list[str]:
        """Stops every child, last started first; returns their names. Safe to call twice."""
        stopped = []
        for name in reversed(list(self.procs)):
            proc = self.procs.pop(name)
            stopped.append(name)
            if proc.poll() is not None:
                continue
            if name in self._stateless:
                with contextlib.suppress(ProcessLookupError):  # it may end meanwhile
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                continue
            # ghsim stops on SIGINT like Ctrl-C in its own terminal would; the rest on SIGTERM.
            proc.send_signal(signal.SIGINT if name == "ghsim" else signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()
        return stopped
