"""The sandbox interface: an ephemeral container holding the workspace and nothing else."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

WORKSPACE = "/workspace"


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int | None  # None when the command was killed at its timeout
    output: str  # stdout and stderr interleaved, kept to a bounded head and tail
    timed_out: bool
    duration_s: float
    output_bytes: int  # how much the command wrote, before any cut


class SandboxError(Exception):
    """The sandbox could not do what was asked (a broken .git, a container that died)."""


class SandboxFileError(SandboxError):
    """A file tool asked for a path outside the workspace, or one that is not there."""


@dataclass(frozen=True)
class SandboxSpec:
    run_id: str
    image: str
    memory_bytes: int = 1024**3
    cpus: float = 1.0
    pids: int = 256
    command_timeout_s: float = 600.0
    prestart: str | None = None  # a phase (without network) whose container starts early
    # The workspace is a tmpfs of at most this size; what the agent writes there counts against
    # memory_bytes, like /tmp.
    workspace_bytes: int = 4 * 1024**3
    tmp_bytes: int = 256 * 1024**2  # the tmpfs at /tmp; it counts against memory_bytes too
    output_head_bytes: int = 16 * 1024  # a command's output is kept as this head and tail
    output_tail_bytes: int = 16 * 1024


class Sandbox(Protocol):
    """One container on the run's workspace; paths are relative to /workspace."""

    async def run(self, command: str, timeout_s: float | None = None) -> CommandResult: ...

    async def read_file(self, path: str) -> bytes: ...

    async def write_file(self, path: str, content: bytes) -> None: ...

    async def delete_file(self, path: str) -> None: ...

    async def take_patch(self) -> bytes:
        """A binary git patch of the workspace since the last call (or since it was filled),
        and the new starting point for the next one."""
        ...


class SandboxSession(Protocol):
    """The run's workspace volume; each phase gets its own container on it."""

    def phase(self, name: str, network: bool = False) -> AbstractAsyncContextManager[Sandbox]: ...


class Sandboxes(Protocol):
    def session(
        self,
        spec: SandboxSpec,
        tree_tar: bytes | None = None,
        *,
        pack: bytes | None = None,
        commit: str | None = None,
    ) -> AbstractAsyncContextManager[SandboxSession]:
        """A volume filled with the files at the run's base, removed on exit whatever happened:
        from `tree_tar` (the files, no .git), or, faster on a large tree, from `pack` (a pack
        holding `commit`, its tree and its blobs; see `Checkout.tree_pack`), which then needs no
        tar. Whatever an earlier session of the same run left (a worker killed mid-run) is
        removed first: only the run's lease holder opens a session."""
        ...


def check_session_tree(tree_tar: bytes | None, pack: bytes | None, commit: str | None) -> None:
    """What every backend's `session` asks of its tree: a tar, or a pack with the commit in it."""
    if (pack is None) != (commit is None) or (pack is None and tree_tar is None):
        raise ValueError("a session needs a tree tar, or a pack and the commit in it")
