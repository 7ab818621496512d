"""One phase's container: the agent's commands, file operations and patches, each run inside it
as the agent's user."""

from __future__ import annotations

import asyncio
import posixpath
import re
import time

import docker
from docker.errors import APIError
from docker.models.containers import Container

from bot.sandbox import scripts
from bot.sandbox.api import WORKSPACE, CommandResult, SandboxError, SandboxFileError
from bot.sandbox.containers import SessionState
from bot.sandbox.docker_exec import BoundedOutput, ExecOutcome, exec_in

HOST_GRACE_S = 5.0  # the host-side deadline lets the in-container `timeout` act first
FILE_OP_TIMEOUT_S = 60.0
PATCH_TIMEOUT_S = 300.0
MAX_FILE_BYTES = 16 * 1024**2
MAX_PATCH_BYTES = 64 * 1024**2


def workspace_path(path: str) -> str:
    """The path relative to /workspace, or SandboxFileError when it names anything outside."""
    if not path or "\0" in path:
        raise SandboxFileError(f"{path!r}: not a usable path")
    full = posixpath.normpath(posixpath.join(WORKSPACE, path))
    if not full.startswith(WORKSPACE + "/"):
        raise SandboxFileError(f"{path}: is outside the workspace")
    return full[len(WORKSPACE) + 1 :]


class DockerSandbox:
    """One running phase container; every command and file operation runs as the agent's user."""

    def __init__(self, client: docker.DockerClient, container: Container, session: SessionState):
        self._client, self._container, self._session = client, container, session

    @property
    def container_id(self) -> str:
        return str(self._container.id)

    def _bounded(self) -> BoundedOutput:
        spec = self._session.spec
        return BoundedOutput(spec.output_head_bytes, spec.output_tail_bytes)

    async def _call(
        self,
        cmd: list[str],
        timeout_s: float,
        stdin: bytes | None = None,
        out: BoundedOutput | None = None,
        err: BoundedOutput | None = None,
    ) -> ExecOutcome:
        out = out or self._bounded()
        deadline = time.monotonic() + timeout_s
        try:
            return await asyncio.to_thread(
                exec_in, self._client, self.container_id, cmd,
                deadline=deadline, out=out, err=err or out, stdin=stdin,
            )  # fmt: skip
        except APIError as error:
            raise SandboxError(f"the sandbox container failed: {error}") from error

    async def run(self, command: str, timeout_s: float | None = None) -> CommandResult:
        limit = self._session.spec.command_timeout_s if timeout_s is None else timeout_s
        result = await self._run_once(command, max(0.1, limit))
        if result.exit_code == 125 and (
            scripts.PIDS_FULL in result.output
            or "timeout: fork system call failed" in result.output
        ):
            # The command never started: leftovers (a detached fork bomb) fill the pids limit.
            await self.sweep()
            result = await self._run_once(command, max(0.1, limit))
        return result

    async def _run_once(self, command: str, limit: float) -> CommandResult:
        out = self._bounded()
        started = time.monotonic()
        outcome = await self._call(
            scripts.run_command(command, limit), limit + HOST_GRACE_S, out=out
        )
        duration = time.monotonic() - started
        code = outcome.exit_code
        # `timeout -s KILL` kills its own process group too, so a timeout shows as 137.
        timed_out = code is None or (code in (124, 137) and duration >= limit - 0.05)
        if timed_out:
            await self.sweep()
        return CommandResult(
            command=command,
            exit_code=None if timed_out else code,
            output=out.text(),
            timed_out=timed_out,
            duration_s=duration,
            output_bytes=out.total,
        )

    async def sweep(self) -> None:
        """Kill every process of the agent's user, daemonised ones included."""
        for _ in range(20):
            try:
                outcome = await self._call(scripts.sweep_command(), 10.0)
            except SandboxError:  # the pids limit can refuse a new exec while a fork bomb dies
                outcome = None
            if outcome is not None and outcome.exit_code == 0 and not outcome.out.total:
                return
            await asyncio.sleep(0.05)
        # Still not clean: a restart ends the container's whole pid namespace.
        await asyncio.to_thread(self._container.restart, timeout=0)

    async def _file_op(self, op: str, path: str, data: bytes | None = None) -> ExecOutcome:
        cmd = scripts.file_tool_command(op, workspace_path(path), MAX_FILE_BYTES)
        out = BoundedOutput(MAX_FILE_BYTES + 1, 0)
        outcome = await self._call(cmd, FILE_OP_TIMEOUT_S, data, out, self._bounded())
        why = outcome.err.text().strip()
        if outcome.exit_code == scripts.FILE_REFUSED:
            raise SandboxFileError(why)
        if outcome.exit_code != 0:
            raise SandboxError(f"{op} {path} failed ({outcome.exit_code}): {why}")
        return outcome

    async def read_file(self, path: str) -> bytes:
        return bytes((await self._file_op("read", path)).out.head)

    async def write_file(self, path: str, content: bytes) -> None:
        await self._file_op("write", path, content)

    async def delete_file(self, path: str) -> None:
        await self._file_op("delete", path)

    async def take_patch(self) -> bytes:
        cmd = scripts.take_patch_command(self._session.baseline)
        out = BoundedOutput(MAX_PATCH_BYTES + 1, 0)
        outcome = await self._call(cmd, PATCH_TIMEOUT_S, out=out, err=self._bounded())
        err = outcome.err.text()
        if outcome.exit_code != 0:
            raise SandboxError(f"take_patch failed ({outcome.exit_code}): {err.strip()}")
        if outcome.out.total > MAX_PATCH_BYTES:
            raise SandboxError(f"take_patch: the patch is larger than {MAX_PATCH_BYTES} bytes")
        found = re.findall(r"PILOT-BASELINE ([0-9a-f]{40})", err)
        if not found:
            raise SandboxError(f"take_patch: no new baseline reported: {err.strip()}")
        self._session.baseline = found[-1]
        return bytes(outcome.out.head)
