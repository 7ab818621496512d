"""The whole product as processes: ghsim, `issue-pilot serve`, `issue-pilot worker`, and the
scripted model, wired as a deployment would be. Tests label issues and watch ghsim."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from bot.dev.scripted_model import ScriptedModel
from tests.ghsim_support import ROOT, GhsimProcess, free_port, wait_until
from tests.services import setting, unavailable

SANDBOX_LABEL = "issue-pilot.run"


def docker_client() -> docker.DockerClient:
    host = setting("DOCKER_HOST")
    try:
        client = docker.DockerClient(base_url=host) if host else docker.from_env()
        client.ping()
    except Exception:
        unavailable("dockerd")
        raise
    return client


def leftovers(client: docker.DockerClient, run_label: str | None = None) -> list[str]:
    """Containers and volumes a run left behind (all runs when no label value is given)."""
    label = SANDBOX_LABEL if run_label is None else f"{SANDBOX_LABEL}={run_label}"
    containers = client.containers.list(all=True, filters={"label": label})
    volumes = client.volumes.list(filters={"label": label})
    return [f"container {c.name}" for c in containers] + [f"volume {v.name}" for v in volumes]


@dataclass
class Stack:
    sim: GhsimProcess
    model: ScriptedModel
    env: dict[str, str]
    tmp: Path
    web: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    logs: list[Any] = field(default_factory=list)

    @property
    def runs_dir(self) -> Path:
        return Path(self.env["PILOT_RUNS_DIR"])

    def _spawn(
        self, *args: str, name: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")
        self.logs.append(log)
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=ROOT,
            env=self.env if env is None else env,
            stdout=log,
            stderr=log,
        )

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", name="worker")

    def kill_worker(self) -> None:
        """As an OOM kill or a lost machine would: no clean-up runs."""
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(10)
        self.worker = None

    def stop(self) -> None:
        for proc in (self.worker, self.web):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for log in self.logs:
            log.close()

    def log_text(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def stack_env() -> dict[str, str]:
    """More settings for the stack's processes; a test module overrides this fixture (a
    short `PILOT_RECONCILE_INTERVAL_S`, say)."""
    return {}


@pytest.fixture
def stack(redis_url: str, tmp_path: Path, stack_env: dict[str, str]) -> Iterator[Stack]:
    client = docker_client()
    image = setting("PILOT_SANDBOX_IMAGE", "issue-pilot-sandbox:bookworm-1")
    assert image is not None
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        unavailable(f"the sandbox image {image}")
    client.close()
    # ghsim's CI runs its jobs on the same dockerd, in the sandbox image.
    docker_host = setting("DOCKER_HOST")
    if docker_host:
        os.environ.setdefault("DOCKER_HOST", docker_host)
    os.environ.setdefault("PILOT_SANDBOX_IMAGE", image)
    web_port = free_port()
    (tmp_path / "ghsim").mkdir()
    sim = GhsimProcess(tmp_path / "ghsim", f"http://127.0.0.1:{web_port}/webhooks/github")
    sim.start()
    model = ScriptedModel().start()
    info = sim.app_info
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PILOT_")},
        "PILOT_GITHUB_APP_ID": str(info["app_id"]),
        "PILOT_GITHUB_PRIVATE_KEY_PATH": str(sim.data_dir / "app.pem"),
        "PILOT_GITHUB_WEBHOOK_SECRET": str(info["webhook_secret"]),
        "PILOT_GITHUB_API_URL": sim.api_url,
        "PILOT_REDIS_URL": redis_url,
        "PILOT_LLM_BASE_URL": model.base_url,
        "PILOT_LLM_API_KEY": "scripted",
        "PILOT_LLM_MODEL": "scripted",
        "PILOT_LLM_MAX_TRIES": "2",
        "PILOT_RUNS_DIR": str(tmp_path / "runs"),
        "PILOT_CACHE_DIR": str(tmp_path / "cache"),
        "PILOT_SANDBOX_IMAGE": image,
        "PILOT_CI_TIMEOUT_S": "300",
        "PYTHONUNBUFFERED": "1",
        **stack_env,
    }
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    stack = Stack(sim, model, env, tmp_path)
    try:
        # The web app gets the webhook secret and Redis, nothing else: no App key, no model key.
        web_env = {
            k: v
            for k, v in env.items()
            if not k.startswith("PILOT_") or k in {"PILOT_GITHUB_WEBHOOK_SECRET", "PILOT_REDIS_URL"}
        }
        stack.web = stack._spawn("serve", "--port", str(web_port), name="web", env=web_env)
        wait_until(lambda: _healthy(web_port), 20, "issue-pilot serve")
        stack.start_worker()
        yield stack
    finally:
        stack.stop()
        model.stop()
        sim.stop()
