"""A small HTTP/1.1 load generator for the benchmarks: closed loop at a concurrency, or an open
loop at a fixed rate; both bounded in count, loopback only.

Raw keep-alive connections over asyncio streams: httpx's pool degrades past a few concurrent
connections in one event loop and would measure itself rather than the server."""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

Request = tuple[str, bytes, dict[str, str]]


@dataclass
class Result:
    sent: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.sent / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return (await self.request("POST", url, body, headers))[0]

    async def request(
        self, method: str, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        head.append(f"Content-Length: {len(body)}")
        head += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("server closed an idle keep-alive connection")
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def _send(conn: Connection, req: Request, result: Result) -> None:
    url, body, headers = req
    start = time.perf_counter()
    status = await conn.post(url, body, headers)
    result.latencies_ms.append((time.perf_counter() - start) * 1000)
    result.statuses[status] = result.statuses.get(status, 0) + 1


async def closed_loop(make: Callable[[int], Request], n: int, concurrency: int) -> Result:
    result = Result(n, 0.0, [], {})
    counter = iter(range(n))
    url = make(0)[0]
    conns = [await Connection.open(url) for _ in range(concurrency)]

    async def worker(conn: Connection) -> None:
        for i in counter:
            await _send(conn, make(i), result)

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    result.seconds = time.perf_counter() - start
    for conn in conns:
        conn.close()
    return result


async def open_loop(make: Callable[[int], Request], rate: float, seconds: float) -> Result:
    """Requests at fixed instants; each takes an idle connection or opens one."""
    n = int(rate * seconds)
    result = Result(n, 0.0, [], {})
    url = make(0)[0]
    idle: list[Connection] = [await Connection.open(url) for _ in range(8)]
    opened = list(idle)

    async def one(i: int) -> None:
        # Oldest idle connection first, so none sits past the server's keep-alive timeout.
        conn = idle.pop(0) if idle else await Connection.open(url)
        if conn not in opened:
            opened.append(conn)
        try:
            await _send(conn, make(i), result)
        except ConnectionResetError:
            conn = await Connection.open(url)
            opened.append(conn)
            await _send(conn, make(i), result)
        idle.append(conn)

    start = time.perf_counter()
    tasks = []
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - start
    for conn in opened:
        conn.close()
    return result
