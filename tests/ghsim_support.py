"""Run ghsim as a real process and receive its webhooks, for tests that use githubkit and git.

Import the fixtures into a test module with ``from tests.ghsim_support import ...`` or use
the helpers directly (``GhsimProcess``, ``Receiver``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.cache import MemCacheStrategy

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "webhooks"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], Any],
    timeout: float = 10.0,
    what: str = "condition",
    interval_s: float = 0.05,
) -> Any:
    """`check()`'s first true answer; a check that reads ghsim a lot polls slower (GitHub's
    secondary limits hold for tests' clients too)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval_s)


@dataclass
class Delivery:
    event: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    @property
    def action(self) -> str | None:
        return self.payload.get("action")


@dataclass
class Receiver:
    """A webhook receiver on a free port; ``status`` is what it answers (503 = failing)."""

    port: int = field(default_factory=free_port)
    status: int = 200
    deliveries: list[Delivery] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.status
                if status < 300:
                    receiver.deliveries.append(
                        Delivery(self.headers.get("X-GitHub-Event", ""), dict(self.headers), body)
                    )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"unavailable")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def find(
        self,
        event: str,
        action: str | None = None,
        where: Callable[[dict[str, Any]], bool] = lambda p: True,
    ) -> list[Delivery]:
        return [
            d
            for d in list(self.deliveries)
            if d.event == event and (action is None or d.action == action) and where(d.payload)
        ]

    def wait_for(
        self,
        event: str,
        action: str | None = None,
        where: Callable[[dict[str, Any]], bool] = lambda p: True,
        timeout: float = 10.0,
    ) -> Delivery:
        found = wait_until(
            lambda: self.find(event, action, where), timeout, f"webhook {event}.{action}"
        )
        return found[-1]  # type: ignore[no-any-return]


class GhsimProcess:
    """``python -m ghsim`` on a free port with its own data dir."""

    def __init__(
        self,
        data_dir: Path,
        webhook_url: str | None,
        port: int | None = None,
        rate_limits: list[str] | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        # `--rate-limit NAME=VALUE` flags; GitHub's numbers apply without them.
        self.rate_limits = rate_limits or []
        # More flags as they are (`--delivery-fault drop=0.3`, `--api-fault ...`).
        self.extra_args = extra_args or []
        self.webhook_url = webhook_url
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # githubkit namespaces hold their client weakly; keep clients alive for chained calls.
        self._clients: list[GitHub[Any]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v3/"

    @property
    def app_info(self) -> dict[str, Any]:
        return dict(json.loads((self.data_dir / "app.json").read_text()))

    @property
    def private_key(self) -> str:
        return (self.data_dir / "app.pem").read_text()

    def start(self) -> GhsimProcess:
        args = [
            sys.executable,
            "-m",
            "ghsim",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        if self.webhook_url:
            args += ["--webhook-url", self.webhook_url]
        for limit in self.rate_limits:
            args += ["--rate-limit", limit]
        args += self.extra_args
        self.log = open(self.data_dir.parent / f"ghsim-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=self.log,
            stderr=self.log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"ghsim exited with {self.proc.returncode}")
            try:
                return httpx.get(f"{self.base_url}/", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 30, "ghsim to start")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    # clients -------------------------------------------------------------------------------
    def client(self, auth: Any) -> GitHub[Any]:
        """A githubkit client with its own cache (githubkit caches App JWTs process-wide)."""
        client: GitHub[Any] = GitHub(
            auth, base_url=self.api_url, auto_retry=False, cache_strategy=MemCacheStrategy()
        )
        self._clients.append(client)
        return client

    def person(self, login: str) -> GitHub[Any]:
        return self.client(TokenAuthStrategy(f"ghp_sim_{login}"))

    def app(self, private_key: str | None = None) -> GitHub[Any]:
        key = private_key or self.private_key
        return self.client(AppAuthStrategy(str(self.app_info["app_id"]), key))

    def installation(self) -> GitHub[Any]:
        info = self.app_info
        return self.client(
            AppInstallationAuthStrategy(
                str(info["app_id"]), self.private_key, int(info["installation_id"])
            )
        )


@dataclass
class Ghsim:
    """A running ghsim with its receiver, as the ``ghsim`` fixture gives it."""

    process: GhsimProcess
    receiver: Receiver

    def __getattr__(self, name: str) -> Any:
        return getattr(self.process, name)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def ghsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ghsim]:
    """One ghsim for the session (tests use unique names), its webhooks to a receiver."""
    receiver = Receiver().start()
    process = GhsimProcess(tmp_path_factory.mktemp("ghsim") / "data", receiver.url).start()
    yield Ghsim(process, receiver)
    process.stop()
    receiver.stop()


def git(*args: str, cwd: Path | None = None) -> str:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


def push_files(
    sim: Ghsim | GhsimProcess,
    full_name: str,
    token: str,
    branch: str,
    files: dict[str, str],
    workdir: Path,
    start: str = "main",
    message: str = "change",
) -> str:
    """Clone, commit ``files`` on ``branch`` (from ``start``), push; returns the new sha."""
    url = f"http://x-access-token:{token}@127.0.0.1:{sim.port}/{full_name}.git"
    clone = workdir / unique("clone")
    git("clone", "--quiet", url, str(clone))
    git("checkout", "--quiet", "-B", branch, f"origin/{start}", cwd=clone)
    for path, content in files.items():
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        (clone / path).write_text(content)
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", message, cwd=clone)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone)
