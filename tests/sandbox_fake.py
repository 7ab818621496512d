"""Sandboxes in a temporary directory on this machine, for tests of the run engine's decisions:
the same Protocols as the Docker backend (bot/sandbox/api.py), the same baseline and patch
contract, commands run with subprocess. No isolation at all: only for scripted test models."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import BytesIO
from pathlib import Path

from bot.sandbox.api import (
    WORKSPACE,
    CommandResult,
    SandboxError,
    SandboxFileError,
    SandboxSpec,
    check_session_tree,
)

GIT_NAME = "Issue Pilot"
GIT_EMAIL = "issue-pilot@localhost"
# What the Docker backend keeps out of the patch (tool caches, installed packages).
BUILD_LEFTOVERS = (
    "__pycache__/", "*.py[cod]", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/", ".tox/",
    ".venv/", "node_modules/",
)  # fmt: skip
_GIT = [
    "git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
    "-c", "core.autocrlf=false", "-c", f"user.name={GIT_NAME}", "-c", f"user.email={GIT_EMAIL}",
    "-c", "commit.gpgsign=false",
]  # fmt: skip


def _env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }


class _Workspace:
    """The session's directory, its git baseline, and a home for commands beside it."""

    def __init__(self, root: Path, spec: SandboxSpec) -> None:
        self.root = root
        self.dir = root / "workspace"
        self.home = root / "home"
        self.spec = spec
        self.baseline = ""
        self.dir.mkdir()
        self.home.mkdir()

    def git(self, *args: str, stdin: bytes | None = None) -> bytes:
        done = subprocess.run(
            [*_GIT, *args], cwd=self.dir, env=_env(self.home), input=stdin, capture_output=True
        )
        if done.returncode != 0:
            raise SandboxError(f"git {args[0]} failed: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def _init(self) -> None:
        self.git("-c", "init.defaultBranch=pilot-base", "init", "-q")
        (self.dir / ".git" / "info").mkdir(exist_ok=True)
        (self.dir / ".git" / "info" / "exclude").write_text("\n".join(BUILD_LEFTOVERS) + "\n")

    def fill_from_pack(self, pack: bytes, commit: str) -> None:
        self._init()
        self.git("index-pack", "--stdin", stdin=pack)
        (self.dir / ".git" / "shallow").write_text(commit + "\n")
        self.git("update-ref", "refs/heads/pilot-base", commit)
        self.git("read-tree", "--reset", "-u", "HEAD")
        self.baseline = self.git("rev-parse", "HEAD").decode().strip()

    def fill_from_tar(self, tree_tar: bytes) -> None:
        if tree_tar:
            with tarfile.open(fileobj=BytesIO(tree_tar)) as archive:
                archive.extractall(self.dir, filter="data")
        self._init()
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", "pilot: base")
        self.baseline = self.git("rev-parse", "HEAD").decode().strip()

    def take_patch(self) -> bytes:
        """The Docker backend's contract: the patch since the baseline, which then moves on."""
        self.git("add", "-A")
        patch = self.git(
            "diff", "--cached", "--binary", "--full-index", "--no-color", "--no-ext-diff",
            "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", self.baseline, "--",
        )  # fmt: skip
        changed = subprocess.run(
            [*_GIT, "diff", "--cached", "--quiet", "HEAD", "--"], cwd=self.dir, env=_env(self.home)
        )
        if changed.returncode:
            self.git("commit", "-q", "--no-verify", "-m", "pilot: checkpoint")
        self.baseline = self.git("rev-parse", "HEAD").decode().strip()
        return patch

    def path(self, path: str) -> Path:
        """`path` inside the workspace, or SandboxFileError as the Docker backend says it."""
        if not path or "\0" in path:
            raise SandboxFileError(f"{path!r}: not a usable path")
        full = os.path.normpath(os.path.join(WORKSPACE, path))
        if not full.startswith(WORKSPACE + "/"):
            raise SandboxFileError(f"{path}: is outside the workspace")
        target = self.dir / full[len(WORKSPACE) + 1 :]
        parent = target.parent.resolve()
        if parent != self.dir.resolve() and self.dir.resolve() not in parent.parents:
            raise SandboxFileError(f"{path}: a symlink on the way leads outside the workspace")
        return target


class LocalSandbox:
    """One phase on the session's directory."""

    def __init__(self, workspace: _Workspace) -> None:
        self._ws = workspace

    async def run(self, command: str, timeout_s: float | None = None) -> CommandResult:
        spec = self._ws.spec
        limit = spec.command_timeout_s if timeout_s is None else timeout_s
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            "bash", "-c", command,
            cwd=self._ws.dir, env=_env(self._ws.home), start_new_session=True,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        chunks: list[bytes] = []

        async def read() -> None:
            assert process.stdout is not None
            while chunk := await process.stdout.read(65536):
                chunks.append(chunk)
            await process.wait()

        reader = asyncio.create_task(read())
        done, _ = await asyncio.wait({reader}, timeout=max(0.1, limit))
        timed_out = reader not in done
        if timed_out:
            # Like `timeout` in the container: the command's whole process group goes.
            os.killpg(process.pid, 9)
            await reader
        out = b"".join(chunks)
        head, tail = spec.output_head_bytes, spec.output_tail_bytes
        kept = out if len(out) <= head + tail else out[:head] + b"\n...\n" + out[-tail:]
        return CommandResult(
            command=command,
            exit_code=None if timed_out else process.returncode,
            output=kept.decode(errors="replace"),
            timed_out=timed_out,
            duration_s=time.monotonic() - started,
            output_bytes=len(out),
        )

    async def read_file(self, path: str) -> bytes:
        target = self._ws.path(path)
        if not target.is_file():
            raise SandboxFileError(f"{path}: no such file")
        return target.read_bytes()

    async def write_file(self, path: str, content: bytes) -> None:
        target = self._ws.path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    async def delete_file(self, path: str) -> None:
        target = self._ws.path(path)
        if target.is_dir() and not target.is_symlink():
            raise SandboxFileError(f"{path}: is a directory")
        try:
            target.unlink()
        except FileNotFoundError as exc:
            raise SandboxFileError(f"{path}: no such file") from exc

    async def take_patch(self) -> bytes:
        return await asyncio.to_thread(self._ws.take_patch)


class LocalSession:
    def __init__(self, workspace: _Workspace) -> None:
        self._ws = workspace

    @asynccontextmanager
    async def phase(self, name: str, network: bool = False) -> AsyncIterator[LocalSandbox]:
        yield LocalSandbox(self._ws)


class LocalSandboxes:
    """Sandboxes as temporary directories; `opened` counts sessions, `live` those not closed."""

    def __init__(self) -> None:
        self.opened = 0
        self.live = 0

    @asynccontextmanager
    async def session(
        self,
        spec: SandboxSpec,
        tree_tar: bytes | None = None,
        *,
        pack: bytes | None = None,
        commit: str | None = None,
    ) -> AsyncIterator[LocalSession]:
        check_session_tree(tree_tar, pack, commit)
        root = Path(tempfile.mkdtemp(prefix="pilot-sandbox-"))
        self.opened += 1
        self.live += 1
        try:
            workspace = _Workspace(root, spec)
            if pack is not None and commit is not None:
                await asyncio.to_thread(workspace.fill_from_pack, pack, commit)
            else:
                await asyncio.to_thread(workspace.fill_from_tar, tree_tar or b"")
            yield LocalSession(workspace)
        finally:
            self.live -= 1
            shutil.rmtree(root, ignore_errors=True)
