"""Benchmark ghsim: start-up time and REST requests per second.

Starts `python -m ghsim` on a free port with a temporary data dir, measures the time from
process start to the first 200 from the API, then runs a mix of REST calls (get repo, get
issue, list comments, create comment) with a fixed concurrency, and prints a table.
Usage: uv run python bench/ghsim.py [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.load import Connection

ROOT = Path(__file__).resolve().parent.parent
TOKEN = {"Authorization": "token ghp_sim_bench", "Accept": "application/vnd.github+json"}
STARTUP_TARGET_S = 2.0
THROUGHPUT_TARGET = 200.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    began = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ghsim",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v3/user"
    while time.perf_counter() - began < 30:
        if process.poll() is not None:
            raise SystemExit("ghsim exited during start-up")
        try:
            if httpx.get(url, headers=TOKEN, timeout=1).status_code == 200:
                return process, time.perf_counter() - began
        except httpx.HTTPError:
            time.sleep(0.01)
    process.kill()
    raise SystemExit("ghsim did not answer within 30 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def load(api: str, total: int, concurrency: int) -> tuple[float, int]:
    """Run `total` requests on `concurrency` keep-alive connections; (seconds, failures)."""
    async with httpx.AsyncClient(base_url=api, headers=TOKEN, timeout=30) as client:
        (await client.post("/user/repos", json={"name": "bench"})).raise_for_status()
        issue = await client.post("/repos/bench/bench/issues", json={"title": "Bench"})
        issue.raise_for_status()
        number = issue.json()["number"]
    comment = json.dumps({"body": "bench"}).encode()
    mix = [
        ("GET", "/repos/bench/bench", b""),
        ("GET", f"/repos/bench/bench/issues/{number}", b""),
        ("GET", f"/repos/bench/bench/issues/{number}/comments", b""),
        ("POST", f"/repos/bench/bench/issues/{number}/comments", comment),
    ]
    headers = {**TOKEN, "Content-Type": "application/json"}
    counter = iter(range(total))
    failures = 0
    conns = [await Connection.open(api) for _ in range(concurrency)]

    async def worker(conn: Connection) -> None:
        nonlocal failures
        for i in counter:
            method, path, body = mix[i % len(mix)]
            status, _ = await conn.request(method, api + path, body, headers)
            failures += status >= 400

    began = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - began
    for conn in conns:
        conn.close()
    return elapsed, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--starts", type=int, default=3, help="start-ups to take the median of")
    args = parser.parse_args()
    startups = []
    with tempfile.TemporaryDirectory(prefix="ghsim-bench-") as tmp:
        for attempt in range(args.starts - 1):
            process, seconds = start(Path(tmp) / f"data-{attempt}", free_port())
            startups.append(seconds)
            stop(process)
        port = free_port()
        process, seconds = start(Path(tmp) / "data", port)
        startups.append(seconds)
        try:
            elapsed, failures = asyncio.run(
                load(f"http://127.0.0.1:{port}/api/v3", args.requests, args.concurrency)
            )
        finally:
            stop(process)
    startup = statistics.median(startups)
    rate = args.requests / elapsed
    rows = [
        (
            f"start-up, median of {len(startups)} (process start → first 200)",
            f"{startup:.2f} s",
            f"< {STARTUP_TARGET_S:.0f} s",
            startup < STARTUP_TARGET_S,
        ),
        (
            f"REST mix, {args.requests} requests, concurrency {args.concurrency}",
            f"{rate:.0f} req/s",
            f">= {THROUGHPUT_TARGET:.0f} req/s",
            rate >= THROUGHPUT_TARGET,
        ),
        ("failed requests", str(failures), "0", failures == 0),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'figure':>12}  {'target':>14}  ok")
    for name, figure, target, ok in rows:
        print(f"{name:<{width}}  {figure:>12}  {target:>14}  {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
