"""Running one command in a container through docker exec, its output kept to a bounded head and
tail whatever the command writes."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import cast

import docker

from bot.sandbox.api import WORKSPACE
from bot.sandbox.containers import AGENT_USER, BASE_ENV


class BoundedOutput:
    """A stream's head and tail; the middle is only counted, so output never grows memory."""

    def __init__(self, head: int, tail: int) -> None:
        self._head_limit, self._tail_limit = head, tail
        self.head, self.tail, self.total = bytearray(), bytearray(), 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self._head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data[-self._tail_limit :]
            if len(self.tail) > self._tail_limit:
                del self.tail[: len(self.tail) - self._tail_limit]

    @property
    def cut(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        if not self.cut:
            return (self.head + self.tail).decode("utf-8", "replace")
        skipped = self.total - len(self.head) - len(self.tail)
        return (
            self.head.decode("utf-8", "replace")
            + f"\n[... {skipped} bytes of output cut ...]\n"
            + self.tail.decode("utf-8", "replace")
        )


def _read_frames(
    sock: socket.socket, deadline: float, out: BoundedOutput, err: BoundedOutput
) -> bool:
    """Demultiplex docker's framed exec stream until it ends (True) or the deadline (False)."""
    header = bytearray()
    stream, left = 1, 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(256 * 1024)
        except TimeoutError:
            return False
        if not chunk:
            return True
        view = memoryview(chunk)
        while view:
            if left == 0:
                need = 8 - len(header)
                header += view[:need]
                view = view[need:]
                if len(header) == 8:
                    stream, left = header[0], int.from_bytes(header[4:8], "big")
                    header.clear()
                continue
            part = bytes(view[:left])
            view = view[left:]
            left -= len(part)
            (err if stream == 2 else out).add(part)


@dataclass
class ExecOutcome:
    exit_code: int | None  # None when the stream outlived the host-side deadline
    out: BoundedOutput
    err: BoundedOutput


def exec_in(
    client: docker.DockerClient,
    container_id: str,
    cmd: list[str],
    *,
    deadline: float,
    out: BoundedOutput,
    err: BoundedOutput,
    stdin: bytes | None = None,
) -> ExecOutcome:
    """Run `cmd` in the container as the agent's user until it ends or `deadline` passes."""
    api = client.api
    exec_id = api.exec_create(
        container_id,
        cmd,
        stdin=stdin is not None,
        user=AGENT_USER,
        workdir=WORKSPACE,
        environment=BASE_ENV,
    )["Id"]
    raw = api.exec_start(exec_id, socket=True)
    sock = cast(socket.socket, getattr(raw, "_sock", raw))
    try:
        if stdin is not None:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            sock.sendall(stdin)
            sock.shutdown(socket.SHUT_WR)
        finished = _read_frames(sock, deadline, out, err)
    finally:
        sock.close()
        raw.close()
    if not finished:
        return ExecOutcome(None, out, err)
    # The stream can close a moment before the daemon records the exit code.
    for _ in range(100):
        info = api.exec_inspect(exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return ExecOutcome(int(info["ExitCode"]), out, err)
        time.sleep(0.01)
    return ExecOutcome(None, out, err)
