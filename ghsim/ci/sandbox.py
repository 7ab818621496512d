"""Job containers: create one per job, copy the checkout in, run commands, always remove it."""

from __future__ import annotations

import io
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

JOB_LABEL = "ghsim.job"
INSTANCE_LABEL = "ghsim.instance"
WORKSPACE = "/workspace"
UID = 1000
# Exit codes of coreutils `timeout`: 124 after SIGTERM, 137 when --kill-after had to SIGKILL.
_TIMEOUT_CODES = (124, 137)


class SandboxError(RuntimeError):
    """Docker could not create, fill or reach a job container."""


def _docker_client() -> docker.DockerClient:
    # Imported on first use: the SDK adds a fifth of a second to ghsim's start-up.
    import docker

    return docker.from_env()


@dataclass(frozen=True)
class SandboxConfig:
    image: str = "issue-pilot-sandbox:bookworm-1"
    instance: str = "ghsim"
    mem_limit: str = "1g"
    pids_limit: int = 512
    nano_cpus: int = 2_000_000_000


@dataclass(frozen=True)
class ExecOutcome:
    exit_code: int
    timed_out: bool
    cancelled: bool


def owned_by_sandbox_user(archive: bytes) -> bytes:
    """Rewrite a `git archive` tar so the unprivileged job user owns every file."""
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(archive)) as src,
        tarfile.open(fileobj=out, mode="w") as dst,
    ):
        for member in src:
            member.uid = member.gid = UID
            member.uname = member.gname = "pilot"
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    return out.getvalue()


class JobContainer:
    """One job's container; `remove()` is safe to call any number of times."""

    def __init__(self, config: SandboxConfig, job_id: int) -> None:
        import docker.errors  # the SDK loads on first use, not at start-up (see _docker_client)

        self.job_id = job_id
        # Job ids restart at 1 in every data dir: the instance label keeps removal to ours.
        self._labels = {JOB_LABEL: str(job_id), INSTANCE_LABEL: config.instance}
        self._removed = False
        self._client = _docker_client()
        try:
            self._container: Container = self._start(config)
        except docker.errors.DockerException as exc:
            self._client.close()
            raise SandboxError(str(exc)) from exc

    def _start(self, config: SandboxConfig) -> Container:
        return self._client.containers.run(
            config.image,
            command=["sleep", "infinity"],
            detach=True,
            user=f"{UID}:{UID}",
            network_mode="none",
            mem_limit=config.mem_limit,
            pids_limit=config.pids_limit,
            nano_cpus=config.nano_cpus,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            working_dir=WORKSPACE,
            labels=self._labels,
        )

    def put_checkout(self, archive: bytes) -> None:
        import docker.errors  # the SDK loads on first use, not at start-up (see _docker_client)

        try:
            self._container.put_archive(WORKSPACE, owned_by_sandbox_user(archive))
        except docker.errors.DockerException as exc:
            raise SandboxError(str(exc)) from exc

    def run_bash(
        self,
        script: str,
        env: dict[str, str],
        workdir: str,
        limit_s: float,
        output: Callable[[bytes], None],
        cancel: threading.Event,
    ) -> ExecOutcome:
        """Run a script with GitHub's default shell flags, stopping it after `limit_s`."""
        api = self._client.api
        cmd = [
            "timeout",
            "--kill-after=5s",
            f"{max(limit_s, 0.1):.1f}s",
            "bash",
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c",
            script,
        ]
        exec_id = api.exec_create(
            self._container.id, cmd, environment=env, workdir=workdir, user=f"{UID}:{UID}"
        )["Id"]
        started = time.monotonic()
        done = threading.Event()
        killed = {"cancel": False, "hard": False}
        watchdog = threading.Thread(
            target=self._watch, args=(done, cancel, started + limit_s + 15, killed), daemon=True
        )
        watchdog.start()
        try:
            for chunk in api.exec_start(exec_id, stream=True):
                output(chunk)
        finally:
            done.set()
        elapsed = time.monotonic() - started
        code = api.exec_inspect(exec_id).get("ExitCode")
        exit_code = 137 if code is None else int(code)
        timed_out = killed["hard"] or (exit_code in _TIMEOUT_CODES and elapsed >= limit_s - 0.5)
        return ExecOutcome(exit_code, timed_out, killed["cancel"])

    def _watch(
        self,
        done: threading.Event,
        cancel: threading.Event,
        hard_deadline: float,
        killed: dict[str, bool],
    ) -> None:
        while not done.wait(0.25):
            if cancel.is_set() or time.monotonic() > hard_deadline:
                killed["cancel" if cancel.is_set() else "hard"] = True
                self._kill()
                return

    def _kill(self) -> None:
        import docker.errors  # the SDK loads on first use, not at start-up (see _docker_client)

        try:
            self._container.kill()
        except docker.errors.APIError:
            pass

    def remove(self) -> None:
        if self._removed:
            return
        remove_containers(self._client, self._labels)
        self._removed = True
        self._client.close()


def remove_containers(client: docker.DockerClient, labels: dict[str, str]) -> int:
    """Force-remove every container carrying all these labels; returns how many went."""
    import docker.errors  # the SDK loads on first use, not at start-up (see _docker_client)

    filters: dict[str, str | list[str] | bool] = {"label": [f"{k}={v}" for k, v in labels.items()]}
    removed = 0
    for container in client.containers.list(all=True, filters=filters):
        try:
            container.remove(force=True)
            removed += 1
        except docker.errors.NotFound:
            pass
    return removed


def remove_instance_containers(instance: str) -> int:
    """Remove what a previous run of this ghsim instance left behind (after a crash)."""
    client = _docker_client()
    try:
        return remove_containers(client, {INSTANCE_LABEL: instance})
    finally:
        client.close()
