"""The one model server every system of bench/solve.py talks to, in turn: the one in PILOT_LLM_*
when PILOT_LLM_BASE_URL is set, else the embedded model (bot/dev/local_model.py), started here
once for the whole bench and stopped at its end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import BenchError, free_port  # noqa: E402
from bot.dev.local_model import LocalModel, find_local_model  # noqa: E402
from bot.dev.stack import DemoError  # noqa: E402

LOCAL_MODEL_VENV = ROOT / ".run" / "llm"
START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Endpoint:
    base_url: str  # OpenAI-compatible, ending in /v1
    model: str  # the name the server answers to
    api_key: str
    worker_env: dict[str, str]  # the PILOT_LLM_* settings of our worker
    shown: str  # how the bench's report names the model

    @property
    def litellm_model(self) -> str:
        """The name the peers (through litellm) use: any OpenAI-compatible server."""
        return f"openai/{self.model}"


def configured_endpoint() -> Endpoint | None:
    """PILOT_LLM_* from the environment, as the worker would read them; None without a URL."""
    base_url = os.environ.get("PILOT_LLM_BASE_URL")
    if not base_url:
        return None
    model = os.environ.get("PILOT_LLM_MODEL")
    if not model:
        raise BenchError("PILOT_LLM_BASE_URL is set without PILOT_LLM_MODEL; the peers need it")
    env = {k: v for k, v in os.environ.items() if k.startswith("PILOT_LLM_")}
    api_key = env.setdefault("PILOT_LLM_API_KEY", "none")
    return Endpoint(base_url.rstrip("/"), model, api_key, env, f"{model} at {base_url}")


def embedded(name: str) -> LocalModel:
    """The embedded model called `name`; installed by scripts/local_model.sh when missing."""
    try:
        return find_local_model(LOCAL_MODEL_VENV, name)
    except DemoError as exc:
        print(f"solve bench: {exc}; running scripts/local_model.sh", file=sys.stderr, flush=True)
    built = subprocess.run(["bash", str(ROOT / "scripts" / "local_model.sh")], cwd=ROOT)
    if built.returncode != 0:
        raise BenchError("scripts/local_model.sh failed; see its output above")
    try:
        return find_local_model(LOCAL_MODEL_VENV, name)
    except DemoError as exc:
        raise BenchError(str(exc)) from None


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class ModelServer:
    """The embedded model's server: started fresh, on the same port, before each task, so every
    task meets the same server (no prompt cache from the last one) and one that died or grew
    large (its process has been OOM-killed here mid-bench) is not carried into the next."""

    local: LocalModel
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    used: bool = False  # a task has run against this process

    @property
    def settings(self) -> dict[str, str]:
        return self.local.settings(self.port)

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.local.command(self.port),
                cwd=ROOT,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(f"{self.settings['PILOT_LLM_BASE_URL']}/models"):
            if self.proc.poll() is not None:
                raise BenchError(f"the model server exited; see {self.log_path}")
            if time.monotonic() > deadline:
                raise BenchError(f"the model server did not answer in {START_TIMEOUT_S:.0f} s")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
        self.used = False


@dataclass
class Model:
    endpoint: Endpoint
    server: ModelServer | None  # None: PILOT_LLM_BASE_URL's, not ours to restart

    def fresh(self) -> None:
        """Before each task: the embedded server restarted; a configured one must answer."""
        if self.server is not None:
            if self.server.used or self.server.proc is None or self.server.proc.poll() is not None:
                self.server.restart()
            self.server.used = True
        elif not _answers(f"{self.endpoint.base_url}/models"):
            raise BenchError(f"the model at {self.endpoint.base_url} does not answer")


@contextmanager
def model_endpoint(name: str, log_dir: Path) -> Iterator[Model]:
    """The configured model, or the embedded one called `name` served until the block ends."""
    configured = configured_endpoint()
    if configured is not None:
        yield Model(configured, None)
        return
    local = embedded(name)
    log_dir.mkdir(parents=True, exist_ok=True)
    server = ModelServer(local, free_port(), log_dir / "model.log")
    try:
        server.start()
        settings = server.settings
        endpoint = Endpoint(
            settings["PILOT_LLM_BASE_URL"],
            settings["PILOT_LLM_MODEL"],
            settings["PILOT_LLM_API_KEY"],
            settings,
            f"embedded {local.kind.shown} (llama.cpp, restarted before each task)",
        )
        yield Model(endpoint, server)
    finally:
        server.stop()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
