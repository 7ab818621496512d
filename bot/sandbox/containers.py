"""A session's containers: their labels, users and environment, and the one locked-down
configuration every phase container (and the workspace's holder) runs with."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import docker
from docker.models.containers import Container

from bot.sandbox.api import WORKSPACE, SandboxSpec
from bot.sandbox.setup_network import SETUP_NETWORK

LABEL_RUN = "issue-pilot.run"
LABEL_CREATED = "issue-pilot.created"
LABEL_PHASE = "issue-pilot.phase"
LABEL_VOLUME = "issue-pilot.volume"
# Whose sandboxes these are: one deployment (or `run-local`) never reaps another's.
LABEL_OWNER = "issue-pilot.owner"

AGENT_USER = "1000:1000"
# The keep-alive runs as another unprivileged user, so the agent can neither kill it (and with it
# the container) nor survive the `kill -9 -1` sweep that ends its own leftovers.
KEEPALIVE_USER = "65534:65534"
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
    # A .pyc is trusted while the source's size and whole-second mtime match it: an edit of the
    # same size within a second of a test run (`a - b` to `a + b`) would be tested as the old code.
    "PYTHONDONTWRITEBYTECODE": "1",
}


@dataclass
class SessionState:
    """The run's volume and what its phases share: the baseline the next patch starts from and
    the container started early for the first phase."""

    client: docker.DockerClient
    spec: SandboxSpec
    volume: str
    baseline: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    prepared: dict[str, Container] = field(default_factory=dict)
    # The paths the image declares as volumes (`image_volumes.declared_volumes`).
    image_volumes: tuple[str, ...] = ()

    def container_config(self, phase: str, network: bool, **extra: Any) -> dict[str, Any]:
        spec = self.spec
        tmpfs = f"rw,exec,nosuid,nodev,size={spec.tmp_bytes},mode=1777"
        return {
            "image": spec.image,
            "command": ["sleep", "infinity"],
            "user": KEEPALIVE_USER,
            "working_dir": WORKSPACE,
            "environment": BASE_ENV,
            "labels": {**self.labels, LABEL_PHASE: phase, LABEL_CREATED: str(int(time.time()))},
            "volumes": {self.volume: {"bind": WORKSPACE, "mode": "rw"}},
            # A tmpfs on each path the image declares keeps dockerd from making an anonymous
            # volume there: it counts against memory_bytes like /tmp, and leaves nothing behind.
            "tmpfs": {"/tmp": tmpfs, **{path: tmpfs for path in self.image_volumes}},
            "network_mode": SETUP_NETWORK if network else "none",
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "read_only": True,
            "mem_limit": spec.memory_bytes,
            "memswap_limit": spec.memory_bytes,
            "nano_cpus": int(spec.cpus * 1e9),
            "pids_limit": spec.pids,
            "init": True,
            "hostname": "sandbox",
            **extra,
        }


def run_detached(client: docker.DockerClient, config: dict[str, Any]) -> Container:
    container = client.containers.run(**config)
    assert isinstance(container, Container)
    return container
