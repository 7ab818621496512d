"""Filling a session's workspace, as the agent's user: the run's tree goes in and is committed as
the baseline the first patch is taken against."""

from __future__ import annotations

import re
import time

import docker

from bot.sandbox import scripts
from bot.sandbox.api import SandboxError
from bot.sandbox.docker_exec import BoundedOutput, exec_in

FILL_TIMEOUT_S = 300.0


def fill_from_tar(client: docker.DockerClient, holder_id: str, tree_tar: bytes) -> str:
    """Extract the tree into the volume and commit it as the baseline; returns the baseline."""
    return _fill(client, holder_id, scripts.fill_command(with_tar=bool(tree_tar)), tree_tar)


def fill_from_pack(client: docker.DockerClient, holder_id: str, pack: bytes, commit: str) -> str:
    """Check `commit` out of `pack` into the volume; it is the baseline."""
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise SandboxError(f"not a commit id: {commit!r}")
    baseline = _fill(client, holder_id, scripts.pack_fill_command(commit), pack)
    if baseline != commit:
        raise SandboxError(f"could not set up the workspace: {commit} came out as {baseline}")
    return baseline


def _fill(client: docker.DockerClient, holder_id: str, cmd: list[str], stdin: bytes) -> str:
    out, err = BoundedOutput(4096, 0), BoundedOutput(0, 4096)
    deadline = time.monotonic() + FILL_TIMEOUT_S
    outcome = exec_in(client, holder_id, cmd, deadline=deadline, out=out, err=err, stdin=stdin)
    if outcome.exit_code != 0:
        why = err.text().strip() or f"exit code {outcome.exit_code}"
        raise SandboxError(f"could not set up the workspace: {why}")
    return out.text().strip().splitlines()[-1]
