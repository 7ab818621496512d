"""What the docker sandbox tests share: a client on the real dockerd, specs, trees, leftovers."""

from __future__ import annotations

import io
import tarfile
import uuid

import docker

from bot.sandbox.api import SandboxSpec
from bot.sandbox.containers import LABEL_RUN
from tests.services import setting, unavailable

IMAGE = str(setting("PILOT_SANDBOX_IMAGE", "issue-pilot-sandbox:bookworm-1"))


def sandbox_client() -> docker.DockerClient:
    """A client on the daemon the tests use, with the sandbox image there; skips (fails under
    CI) otherwise."""
    host = setting("DOCKER_HOST")
    try:
        made = docker.DockerClient(base_url=host) if host else docker.from_env()
        made.ping()
    except Exception:
        unavailable(f"dockerd at {host}")
        raise
    try:
        made.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        unavailable(f"the sandbox image {IMAGE}")
    return made


def spec(**overrides: object) -> SandboxSpec:
    values: dict[str, object] = {
        "run_id": f"test-{uuid.uuid4().hex[:8]}",
        "image": IMAGE,
        "memory_bytes": 512 * 1024**2,
        "pids": 128,
    }
    values.update(overrides)
    return SandboxSpec(**values)  # type: ignore[arg-type]


def make_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def labelled(client: docker.DockerClient, run_id: str) -> list[str]:
    label: dict[str, str | list[str] | bool] = {"label": f"{LABEL_RUN}={run_id}"}
    containers = client.containers.list(all=True, filters=label)
    return [str(c.name) for c in containers] + [
        str(v.name) for v in client.volumes.list(filters=label)
    ]
