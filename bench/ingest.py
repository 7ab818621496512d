"""Webhook intake throughput and latency against the floor of a bare FastAPI route.

Starts `issue-pilot serve` (uvicorn, one process) on real Redis and a bare FastAPI app that
only answers 202, sends both the same correctly signed recorded payloads, and prints
deliveries/s, p50 and p99, the ratio to the floor, and the latency at 200 deliveries/s offered.

    uv run python bench/ingest.py [-n 4000] [-c 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Request, Result, closed_loop, open_loop  # noqa: E402
from bot.web.signature import sign  # noqa: E402
from tests.services import setting  # noqa: E402

SECRET = "bench-webhook-secret-7c1e"
BENCH_DB = 14
FIXTURES = ROOT / "tests" / "fixtures" / "webhooks"
# Only deliveries the bot subscribes to: each one is verified, deduped and enqueued.
PAYLOADS = [
    ("issues", (FIXTURES / "issues" / "labeled.payload.json").read_bytes()),
    ("issue_comment", (FIXTURES / "issue_comment" / "created.payload.json").read_bytes()),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            httpx.post(url, content=b"{}", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def server(cmd: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/webhooks/github"
    try:
        wait_ready(url)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def signed(url: str) -> callable[[int], Request]:  # type: ignore[valid-type]
    def make(i: int) -> Request:
        event, body = PAYLOADS[i % len(PAYLOADS)]
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(SECRET.encode(), body),
        }
        return url, body, headers

    return make


def merged(rounds: list[Result]) -> Result:
    """Pooled latencies; the rate is the median of the rounds' rates."""
    rates = sorted(r.rate for r in rounds)
    sent = sum(r.sent for r in rounds)
    statuses: dict[int, int] = {}
    for r in rounds:
        for code, count in r.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    latencies = [ms for r in rounds for ms in r.latencies_ms]
    return Result(sent, sent / rates[len(rates) // 2], latencies, statuses)


def row(name: str, r: Result) -> str:
    ok = sum(v for k, v in r.statuses.items() if k in (200, 202))
    return (
        f"| {name:<28} | {r.sent:>6} | {ok:>6} | {r.rate:>10.0f} | {r.p50:>8.2f} | "
        f"{r.pct(0.99):>8.2f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1000, help="deliveries per closed-loop round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per side")
    parser.add_argument("-c", type=int, default=32, help="concurrency")
    parser.add_argument("--rate", type=float, default=200, help="open-loop deliveries/s")
    parser.add_argument("--seconds", type=float, default=10, help="open-loop duration")
    args = parser.parse_args()

    base = setting("PILOT_TEST_REDIS_URL", "redis://127.0.0.1:6390/0") or ""
    redis_url = base.rsplit("/", 1)[0] + f"/{BENCH_DB}"
    r = redis.Redis.from_url(redis_url)
    r.ping()
    r.flushdb()
    env = {
        **os.environ,
        "PILOT_GITHUB_WEBHOOK_SECRET": SECRET,
        "PILOT_REDIS_URL": redis_url,
        "PILOT_LOG_LEVEL": "INFO",
    }
    uvicorn_args = ["--log-level", "warning", "--no-access-log"]
    floor_port, pilot_port = free_port(), free_port()
    floor_cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.floor_app:app",
        "--port",
        str(floor_port),
        *uvicorn_args,
    ]
    pilot_cmd = [sys.executable, "-m", "bot.cli", "serve", "--port", str(pilot_port)]
    floor_rounds: list[Result] = []
    pilot_rounds: list[Result] = []
    try:
        with (
            server(floor_cmd, env, floor_port) as floor_url,
            server(pilot_cmd, env, pilot_port) as pilot_url,
        ):
            for url in (floor_url, pilot_url):  # warm-up
                asyncio.run(closed_loop(signed(url), 300, args.c))
            # Alternating rounds: a noisy neighbour slows both sides alike, so the ratio holds.
            for _ in range(args.rounds):
                floor_rounds.append(asyncio.run(closed_loop(signed(floor_url), args.n, args.c)))
                pilot_rounds.append(asyncio.run(closed_loop(signed(pilot_url), args.n, args.c)))
            paced = asyncio.run(open_loop(signed(pilot_url), args.rate, args.seconds))
        enqueued = r.zcard("pilot:deliveries")
    finally:
        r.flushdb()
    floor, pilot = merged(floor_rounds), merged(pilot_rounds)

    print(
        f"| {'run':<28} | {'sent':>6} | {'2xx':>6} | {'deliv/s':>10} | {'p50 ms':>8} | "
        f"{'p99 ms':>8} |"
    )
    print(f"|{'-' * 30}|{'-' * 8}|{'-' * 8}|{'-' * 12}|{'-' * 10}|{'-' * 10}|")
    print(row(f"floor (bare 202), c={args.c}", floor))
    print(row(f"issue-pilot serve, c={args.c}", pilot))
    print(row(f"issue-pilot at {args.rate:.0f}/s offered", paced))
    ratio = pilot.rate / floor.rate
    print()
    print(f"throughput ratio to floor: {ratio:.2f} (target >= 0.50)")
    print(f"p99 at {args.rate:.0f}/s offered: {paced.pct(0.99):.2f} ms (target < 50 ms)")
    total = 300 + args.n * args.rounds + paced.sent
    print(f"jobs enqueued: {enqueued} of {total} deliveries sent to issue-pilot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
