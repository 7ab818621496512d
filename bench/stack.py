"""The whole product as processes, for benchmarks: ghsim, `issue-pilot serve`, `issue-pilot
worker` and the scripted model, wired as a deployment would be, all under one temp dir and
all stopped on exit (Ctrl-C and SIGTERM included)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.dev.scripted_model import ScriptedModel  # noqa: E402

DEFAULT_IMAGE = "issue-pilot-sandbox:bookworm-1"
GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


class BenchError(RuntimeError):
    """A service the bench needs is missing, or the product did not do what it should."""


def setting(name: str, default: str | None = None) -> str | None:
    """The environment first, then what scripts/setup.sh wrote to .run/env."""
    if os.environ.get(name):
        return os.environ[name]
    env_file = ROOT / ".run" / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == name and value.strip():
                return value.strip()
    return default


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def redis_url(db: int) -> str:
    """The test Redis with the bench's own database, flushed; a clear error when it is down."""
    import redis

    base = setting("PILOT_TEST_REDIS_URL", "redis://127.0.0.1:6390/0") or ""
    url = base.rsplit("/", 1)[0] + f"/{db}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.flushdb()
        client.close()
    except redis.RedisError as exc:
        raise BenchError(
            f"Redis does not answer at {url} ({exc}); run `bash scripts/setup.sh` "
            "or set PILOT_TEST_REDIS_URL"
        ) from exc
    return url


def docker_client() -> Any:
    """A docker SDK client that answered a ping, with the sandbox image present."""
    import docker

    host = setting("DOCKER_HOST")
    try:
        client = docker.DockerClient(base_url=host) if host else docker.from_env()
        client.ping()
    except Exception as exc:
        raise BenchError(
            f"dockerd does not answer at {host or 'the default socket'} ({exc}); "
            "run `bash scripts/setup.sh` or set DOCKER_HOST"
        ) from exc
    image = sandbox_image()
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise BenchError(
            f"the sandbox image {image} is missing; `bash scripts/setup.sh` builds it"
        ) from None
    return client


def sandbox_image() -> str:
    return setting("PILOT_SANDBOX_IMAGE", DEFAULT_IMAGE) or DEFAULT_IMAGE


def git(*args: str, cwd: Path | None = None, timeout: float | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise BenchError(f"git {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout.strip()


@dataclass
class Stack:
    tmp: Path
    model: ScriptedModel
    env: dict[str, str]
    sim_port: int
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[IO[bytes]] = field(default_factory=list)
    # How each process was started, so a bench that kills one can start it again.
    commands: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v3"

    @property
    def runs_dir(self) -> Path:
        return Path(self.env["PILOT_RUNS_DIR"])

    def git_url(self, full_name: str, token: str) -> str:
        return f"http://x-access-token:{token}@127.0.0.1:{self.sim_port}/{full_name}.git"

    def person(self, login: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url,
            headers={
                "Authorization": f"token ghp_sim_{login}",
                "Accept": "application/vnd.github+json",
            },
            timeout=30,
        )

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")
        self.logs.append(log)
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log)
        self.procs[name] = proc
        self.commands[name] = (args, env)
        return proc

    def respawn(self, name: str) -> subprocess.Popen[bytes]:
        """Start a process that exited (or was killed) again, as a supervisor would."""
        args, env = self.commands[name]
        return self.spawn(name, args, env)

    def check_alive(self) -> bool:
        """True while every process runs; raises with the log of one that exited."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise BenchError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
        return True

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.tmp / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop every process, last started first; safe to call twice."""
        for name in reversed(list(self.procs)):
            proc = self.procs.pop(name)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT if name == "ghsim" else signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for log in self.logs:
            log.close()
        self.logs.clear()
        self.model.stop()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _raise_on_sigterm() -> Callable[[], None]:
    """SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop what was started."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


@contextmanager
def running_stack(
    redis: str,
    log_level: str = "WARNING",
    sim_args: tuple[str, ...] = (),
    llm_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """ghsim + serve + worker + scripted model under a temp dir, torn down on the way out.

    ``sim_args`` go to ghsim as they are (``--rate-limit NAME=VALUE``...); ``llm_url`` is a
    model server of the caller's own instead of the scripted model; ``extra_env`` adds
    settings for serve and the worker (``PILOT_RECONCILE_INTERVAL_S``...)."""
    restore = _raise_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="pilot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        web_port, sim_port = free_port(), free_port()
        model = ScriptedModel()
        stack = Stack(tmp, model, {}, sim_port)
        try:
            data = tmp / "ghsim"
            data.mkdir()
            stack.spawn(
                "ghsim",
                [
                    sys.executable, "-m", "ghsim", "--host", "127.0.0.1", "--port",
                    str(sim_port), "--data-dir", str(data), "--webhook-url",
                    f"http://127.0.0.1:{web_port}/webhooks/github", *sim_args,
                ],
                {**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            wait_until(lambda: stack.check_alive() and _up(f"{stack.base_url}/"), 30, "ghsim")
            model.start()
            info = json.loads((data / "app.json").read_text())
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("PILOT_")},
                "PILOT_GITHUB_APP_ID": str(info["app_id"]),
                "PILOT_GITHUB_PRIVATE_KEY_PATH": str(data / "app.pem"),
                "PILOT_GITHUB_WEBHOOK_SECRET": str(info["webhook_secret"]),
                "PILOT_GITHUB_API_URL": f"{stack.api_url}/",
                "PILOT_REDIS_URL": redis,
                "PILOT_LLM_BASE_URL": llm_url or model.base_url,
                "PILOT_LLM_API_KEY": "scripted",
                "PILOT_LLM_MODEL": "scripted",
                "PILOT_RUNS_DIR": str(tmp / "runs"),
                "PILOT_CACHE_DIR": str(tmp / "cache"),
                "PILOT_SANDBOX_IMAGE": sandbox_image(),
                "PILOT_LOG_LEVEL": log_level,
                "PYTHONUNBUFFERED": "1",
                **(extra_env or {}),
            }
            docker_host = setting("DOCKER_HOST")
            if docker_host:
                env["DOCKER_HOST"] = docker_host
            stack.env = env
            web_env = {
                k: v
                for k, v in env.items()
                if not k.startswith("PILOT_")
                or k in {"PILOT_GITHUB_WEBHOOK_SECRET", "PILOT_REDIS_URL", "PILOT_LOG_LEVEL"}
            }
            cli = [sys.executable, "-m", "bot.cli"]
            stack.spawn("web", [*cli, "serve", "--port", str(web_port)], web_env)
            healthz = f"http://127.0.0.1:{web_port}/healthz"
            wait_until(lambda: stack.check_alive() and _up(healthz), 30, "issue-pilot serve")
            stack.spawn("worker", [*cli, "worker"], env)
            yield stack
        finally:
            stack.stop()
            restore()
