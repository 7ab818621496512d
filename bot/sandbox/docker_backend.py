"""Sandboxes on the docker SDK: one labelled volume per run, one locked-down container per phase."""

from __future__ import annotations

import asyncio
import posixpath
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from docker.models.volumes import Volume

from bot.sandbox.api import (
    WORKSPACE,
    CommandResult,
    SandboxError,
    SandboxFileError,
    SandboxSpec,
)

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
}
GIT_NAME = "Issue Pilot"
GIT_EMAIL = "issue-pilot@localhost"
HOST_GRACE_S = 5.0  # the host-side deadline lets the in-container `timeout` act first
FILE_OP_TIMEOUT_S = 60.0
FILL_TIMEOUT_S = 300.0
PATCH_TIMEOUT_S = 300.0
MAX_FILE_BYTES = 16 * 1024**2
MAX_PATCH_BYTES = 64 * 1024**2

_FAIL_CODE = 3  # the file helper's "refused" exit code; its stderr says why

# Runs as the agent's user inside the container; the host has already refused lexical escapes,
# this refuses symlinks that lead out, which only the container can see.
_FILE_TOOL = r"""
import os, shutil, sys
ROOT = "/workspace"
op, rel, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
def fail(why):
    sys.stderr.write(f"{rel}: {why}")
    sys.exit(3)
def inside(p):
    return p == ROOT or p.startswith(ROOT + "/")
path = os.path.normpath(os.path.join(ROOT, rel))
if not inside(path) or path == ROOT:
    fail("is outside the workspace")
parent = os.path.realpath(os.path.dirname(path))
if not inside(parent):
    fail("a symlink on the way leads outside the workspace")
target = os.path.join(parent, os.path.basename(path))
if op == "delete":
    if os.path.isdir(target) and not os.path.islink(target):
        fail("is a directory")
    try:
        os.unlink(target)
    except FileNotFoundError:
        fail("no such file")
    sys.exit(0)
real = os.path.realpath(target)
if not inside(real):
    fail("is a symlink that leads outside the workspace")
if op == "read":
    if not os.path.isfile(real):
        fail("no such file" if not os.path.exists(real) else "is not a regular file")
    if os.path.getsize(real) > limit:
        fail(f"is larger than {limit} bytes")
    with open(real, "rb") as f:
        shutil.copyfileobj(f, sys.stdout.buffer)
elif op == "write":
    if os.path.isdir(real):
        fail("is a directory")
    data = sys.stdin.buffer.read()
    os.makedirs(os.path.dirname(real), exist_ok=True)
    with open(real, "wb") as f:
        f.write(data)
"""

# What running a project's tools leaves behind (bytecode, caches, installed packages) is never
# the agent's work: untracked files like these stay out of the patch even when the repository
# does not ignore them itself. Tracked files under such paths still count.
BUILD_LEFTOVERS = (
    "__pycache__/", "*.py[cod]", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/", ".tox/",
    ".venv/", "node_modules/",
)  # fmt: skip
_EXCLUDE = "\n".join(BUILD_LEFTOVERS)
# `-c` options override whatever the agent put in .git/config, so the patch keeps a fixed shape.
_GIT = (
    "git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.autocrlf=false"
    f" -c user.name='{GIT_NAME}' -c user.email={GIT_EMAIL} -c commit.gpgsign=false"
)
# Runs as the agent's user before the agent exists, on the tree tar just extracted. The baseline
# is written with fast-import, one pack instead of a loose object per file: with the tmpfs
# volume, that is what keeps a 20k-file tree fast.
_FILL_TOOL = r"""
import os, stat, subprocess, sys, time
os.chdir("/workspace")
subprocess.run(["chmod", "-R", "u+rwX", "."], check=True)
git = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.autocrlf=false"]
subprocess.run(git + ["-c", "init.defaultBranch=pilot-base", "init", "-q"], check=True)
subprocess.run(git + ["config", "user.name", sys.argv[1]], check=True)
subprocess.run(git + ["config", "user.email", sys.argv[2]], check=True)
with open(".git/info/exclude", "w") as f:
    f.write(sys.argv[3] + "\n")
def quote(path):
    escaped = path.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
    return b'"' + escaped + b'"'
fi = subprocess.Popen(git + ["fast-import", "--quiet", "--done"], stdin=subprocess.PIPE)
w = fi.stdin.write
entries = []
for root, dirs, files in os.walk(b"."):
    if root == b".":
        dirs[:] = [d for d in dirs if d != b".git"]
    for name in files + dirs:
        path = os.path.join(root, name)[2:]
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            mode, data = b"120000", os.readlink(path)
        elif stat.S_ISREG(st.st_mode):
            mode = b"100755" if st.st_mode & 0o100 else b"100644"
            with open(path, "rb") as f:
                data = f.read()
        else:
            continue
        entries.append((mode, path))
        w(b"blob\nmark :%d\ndata %d\n" % (len(entries), len(data)))
        w(data)
        w(b"\n")
who = b"%s <%s> %d +0000" % (sys.argv[1].encode(), sys.argv[2].encode(), int(time.time()))
w(b"commit refs/heads/pilot-base\ncommitter %s\ndata 11\npilot: base\n" % who)
for mark, (mode, path) in enumerate(entries, 1):
    w(b"M %s :%d %s\n" % (mode, mark, quote(path)))
w(b"done\n")
fi.stdin.close()
if fi.wait() != 0:
    sys.exit("git fast-import failed")
subprocess.run(git + ["read-tree", "HEAD"], check=True)
subprocess.run(git + ["update-index", "-q", "--refresh"], check=True)
subprocess.run(git + ["rev-parse", "HEAD"], check=True)
"""
# The pack path: the host's own commit goes in as one pack, and a checkout writes the files and
# a stat-fresh index, so nothing is hashed twice and the commit itself is the baseline. Its
# parents are not there, so it is marked shallow. The run attributes hold during the checkout
# only, so the files are the committed bytes exactly, as `git archive` gives them to the tar path.
# NTFS's short names are no danger on this tmpfs, and the tar path takes a file named `git~1`.
_PACK_FILL = f"""set -e
cd {WORKSPACE}
git() {{ command git -c core.hooksPath=/dev/null -c core.autocrlf=false -c core.fsmonitor=false \\
  -c core.symlinks=true -c core.protectNTFS=false "$@"; }}
git -c init.defaultBranch=pilot-base init -q
git config user.name "$2"
git config user.email "$3"
git index-pack --stdin >/dev/null
printf '%s\\n' "$1" > .git/shallow
git update-ref refs/heads/pilot-base "$1"
mkdir -p .git/info
printf '%s\\n' "$4" > .git/info/exclude
echo '* -text -eol -ident -filter -working-tree-encoding' > .git/info/attributes
git read-tree --reset -u HEAD
rm .git/info/attributes
git rev-parse HEAD
"""
_PATCH_SCRIPT = f"""set -e
cd {WORKSPACE}
base="$1"
{_GIT} cat-file -e "$base^{{commit}}" || {{ echo "baseline commit $base is gone" >&2; exit 90; }}
{_GIT} add -A
{_GIT} diff --cached --binary --full-index --no-color --no-ext-diff --no-textconv \\
  --src-prefix=a/ --dst-prefix=b/ "$base" --
{_GIT} diff --cached --quiet HEAD -- || {_GIT} commit -q --no-verify -m 'pilot: checkpoint'
echo "PILOT-BASELINE $({_GIT} rev-parse HEAD)" >&2
"""
# One pipe for both streams keeps their order (docker's two pipes lose it). `timeout` leads its
# own process group, so whatever the command left behind in it (background jobs, a fork bomb)
# dies with the command; only a process that left the group on purpose (setsid) lives on.
# The wrapper's own stderr goes nowhere, or bash would report the killed job as output.
# Before forking, it checks (with builtins only) that the pids limit has room: when detached
# leftovers fill it, the host sweeps them and runs the command again instead of a fork that
# would block until the deadline.
_PIDS_FULL = "pilot: the process limit is full"
_RUN_WRAPPER = (
    "for f in /sys/fs/cgroup/pids/pids /sys/fs/cgroup/pids; do [ -r $f.current ] || continue; "
    'read c < $f.current; read m < $f.max; [ "$m" != max ] && [ $((m - c)) -lt 4 ] && '
    f'{{ echo "{_PIDS_FULL}"; exit 125; }}; break; done; '
    '"$@" 2>&1 & p=$!; exec 2>/dev/null; wait "$p"; rc=$?; n=0; '
    'while [ "$n" -lt 100 ] && kill -9 -- "-$p" 2>/dev/null; do n=$((n + 1)); done; exit "$rc"'
)
_SWEEP_SCRIPT = (
    'kill -9 -1 2>/dev/null; for d in /proc/[0-9]*; do p="${d#/proc/}"; '
    '[ "$p" = "$$" ] && continue; [ -O "$d" ] && echo "$p"; done; exit 0'
)


class _Bounded:
    """A stream's head and tail; the middle is only counted, so output never grows memory."""

    def __init__(self, head: int, tail: int) -> None:
        self._head_limit, self._tail_limit = head, tail
        self.head, self.tail, self.total = bytearray(), bytearray(), 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self._head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data[-self._tail_limit :]
            if len(self.tail) > self._tail_limit:
                del self.tail[: len(self.tail) - self._tail_limit]

    @property
    def cut(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        if not self.cut:
            return (self.head + self.tail).decode("utf-8", "replace")
        skipped = self.total - len(self.head) - len(self.tail)
        return (
            self.head.decode("utf-8", "replace")
            + f"\n[... {skipped} bytes of output cut ...]\n"
            + self.tail.decode("utf-8", "replace")
        )


def _read_frames(sock: socket.socket, deadline: float, out: _Bounded, err: _Bounded) -> bool:
    """Demultiplex docker's framed exec stream until it ends (True) or the deadline (False)."""
    header = bytearray()
    stream, left = 1, 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(256 * 1024)
        except TimeoutError:
            return False
        if not chunk:
            return True
        view = memoryview(chunk)
        while view:
            if left == 0:
                need = 8 - len(header)
                header += view[:need]
                view = view[need:]
                if len(header) == 8:
                    stream, left = header[0], int.from_bytes(header[4:8], "big")
                    header.clear()
                continue
            part = bytes(view[:left])
            view = view[left:]
            left -= len(part)
            (err if stream == 2 else out).add(part)


@dataclass
class _ExecOutcome:
    exit_code: int | None  # None when the stream outlived the host-side deadline
    out: _Bounded
    err: _Bounded


def _exec(
    client: docker.DockerClient,
    container_id: str,
    cmd: list[str],
    *,
    deadline: float,
    out: _Bounded,
    err: _Bounded,
    stdin: bytes | None = None,
) -> _ExecOutcome:
    api = client.api
    exec_id = api.exec_create(
        container_id,
        cmd,
        stdin=stdin is not None,
        user=AGENT_USER,
        workdir=WORKSPACE,
        environment=BASE_ENV,
    )["Id"]
    raw = api.exec_start(exec_id, socket=True)
    sock = cast(socket.socket, getattr(raw, "_sock", raw))
    try:
        if stdin is not None:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            sock.sendall(stdin)
            sock.shutdown(socket.SHUT_WR)
        finished = _read_frames(sock, deadline, out, err)
    finally:
        sock.close()
        raw.close()
    if not finished:
        return _ExecOutcome(None, out, err)
    # The stream can close a moment before the daemon records the exit code.
    for _ in range(100):
        info = api.exec_inspect(exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return _ExecOutcome(int(info["ExitCode"]), out, err)
        time.sleep(0.01)
    return _ExecOutcome(None, out, err)


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

    def __init__(self, client: docker.DockerClient, container: Container, session: _Session):
        self._client, self._container, self._session = client, container, session

    @property
    def container_id(self) -> str:
        return str(self._container.id)

    def _bounded(self) -> _Bounded:
        spec = self._session.spec
        return _Bounded(spec.output_head_bytes, spec.output_tail_bytes)

    async def _call(
        self,
        cmd: list[str],
        timeout_s: float,
        stdin: bytes | None = None,
        out: _Bounded | None = None,
        err: _Bounded | None = None,
    ) -> _ExecOutcome:
        out = out or self._bounded()
        deadline = time.monotonic() + timeout_s
        try:
            return await asyncio.to_thread(
                _exec, self._client, self.container_id, cmd,
                deadline=deadline, out=out, err=err or out, stdin=stdin,
            )  # fmt: skip
        except APIError as error:
            raise SandboxError(f"the sandbox container failed: {error}") from error

    async def run(self, command: str, timeout_s: float | None = None) -> CommandResult:
        limit = self._session.spec.command_timeout_s if timeout_s is None else timeout_s
        result = await self._run_once(command, max(0.1, limit))
        if result.exit_code == 125 and (
            _PIDS_FULL in result.output or "timeout: fork system call failed" in result.output
        ):
            # The command never started: leftovers (a detached fork bomb) fill the pids limit.
            await self.sweep()
            result = await self._run_once(command, max(0.1, limit))
        return result

    async def _run_once(self, command: str, limit: float) -> CommandResult:
        out = self._bounded()
        cmd = ["bash", "-c", _RUN_WRAPPER, "run", "timeout", "-s", "KILL", f"{limit:.3f}"]
        cmd += ["bash", "-c", command]
        started = time.monotonic()
        outcome = await self._call(cmd, limit + HOST_GRACE_S, out=out)
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
                outcome = await self._call(["bash", "-c", _SWEEP_SCRIPT], 10.0)
            except SandboxError:  # the pids limit can refuse a new exec while a fork bomb dies
                outcome = None
            if outcome is not None and outcome.exit_code == 0 and not outcome.out.total:
                return
            await asyncio.sleep(0.05)
        # Still not clean: a restart ends the container's whole pid namespace.
        await asyncio.to_thread(self._container.restart, timeout=0)

    async def _file_op(self, op: str, path: str, data: bytes | None = None) -> _ExecOutcome:
        rel = workspace_path(path)
        cmd = ["python3", "-c", _FILE_TOOL, op, rel, str(MAX_FILE_BYTES)]
        out = _Bounded(MAX_FILE_BYTES + 1, 0)
        outcome = await self._call(cmd, FILE_OP_TIMEOUT_S, data, out, self._bounded())
        why = outcome.err.text().strip()
        if outcome.exit_code == _FAIL_CODE:
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
        base = self._session.baseline
        cmd = ["bash", "-c", _PATCH_SCRIPT, "take_patch", base]
        out = _Bounded(MAX_PATCH_BYTES + 1, 0)
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


@dataclass
class _Session:
    client: docker.DockerClient
    spec: SandboxSpec
    volume: str
    baseline: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    prepared: dict[str, Container] = field(default_factory=dict)

    def container_config(self, phase: str, network: bool, **extra: Any) -> dict[str, Any]:
        spec = self.spec
        return {
            "image": spec.image,
            "command": ["sleep", "infinity"],
            "user": KEEPALIVE_USER,
            "working_dir": WORKSPACE,
            "environment": BASE_ENV,
            "labels": {**self.labels, LABEL_PHASE: phase, LABEL_CREATED: str(int(time.time()))},
            "volumes": {self.volume: {"bind": WORKSPACE, "mode": "rw"}},
            "tmpfs": {"/tmp": f"rw,exec,nosuid,nodev,size={spec.tmp_bytes},mode=1777"},
            "network_mode": "bridge" if network else "none",
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

    def fill(self, holder: Container, tree_tar: bytes) -> str:
        """Extract the tree into the volume and commit it as the baseline, as the agent's user."""
        script = 'exec python3 -c "$0" "$@"'
        if tree_tar:  # an empty tree may come as no bytes at all, which tar refuses
            script = f"tar -x -f - -C {WORKSPACE} --no-same-owner && {script}"
        return self._fill(
            holder, ["bash", "-c", script, _FILL_TOOL, GIT_NAME, GIT_EMAIL, _EXCLUDE], tree_tar
        )

    def fill_from_pack(self, holder: Container, pack: bytes, commit: str) -> str:
        """Check `commit` out of `pack` into the volume, as the agent's user; it is the
        baseline."""
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise SandboxError(f"not a commit id: {commit!r}")
        cmd = ["bash", "-c", _PACK_FILL, "fill", commit, GIT_NAME, GIT_EMAIL, _EXCLUDE]
        baseline = self._fill(holder, cmd, pack)
        if baseline != commit:
            raise SandboxError(f"could not set up the workspace: {commit} came out as {baseline}")
        return baseline

    def _fill(self, holder: Container, cmd: list[str], stdin: bytes) -> str:
        out, err = _Bounded(4096, 0), _Bounded(0, 4096)
        deadline = time.monotonic() + FILL_TIMEOUT_S
        outcome = _exec(
            self.client, str(holder.id), cmd, deadline=deadline, out=out, err=err, stdin=stdin
        )
        if outcome.exit_code != 0:
            why = err.text().strip() or f"exit code {outcome.exit_code}"
            raise SandboxError(f"could not set up the workspace: {why}")
        return out.text().strip().splitlines()[-1]

    def remove_all(self) -> None:
        """Remove the session's containers, then its volume; safe to call again."""
        for attempt in range(40):
            _remove_containers(self.client.containers.list(
                all=True, filters={"label": f"{LABEL_VOLUME}={self.volume}"}
            ))  # fmt: skip
            try:
                self.client.volumes.get(self.volume).remove(force=True)
                return
            except NotFound:
                return
            except APIError as error:
                # A container removal someone else started (a reaper) may still hold it.
                if "in use" not in str(error) or attempt == 39:
                    raise
                time.sleep(0.25)


class DockerSession:
    """The run's volume; each phase gets its own container on it."""

    def __init__(self, state: _Session) -> None:
        self._state = state

    @property
    def volume(self) -> str:
        return self._state.volume

    @asynccontextmanager
    async def phase(self, name: str, network: bool = False) -> AsyncIterator[DockerSandbox]:
        state = self._state
        config = state.container_config(name, network, detach=True)
        container: Container | None = None if network else state.prepared.pop(name, None)
        try:
            if container is None:
                container = await asyncio.to_thread(_run_detached, state.client, config)
            yield DockerSandbox(state.client, container, state)
        finally:
            if container is not None:
                await asyncio.shield(asyncio.to_thread(_remove_containers, [container]))


class DockerSandboxes:
    """Sandboxes on a docker daemon; `client` defaults to the one DOCKER_HOST names."""

    def __init__(self, client: docker.DockerClient | None = None, owner: str = "local") -> None:
        self._given = client
        self.owner = owner

    @property
    def _client(self) -> docker.DockerClient:
        # Made on first use: from_env() already talks to the daemon, and a worker should start
        # (and say what is wrong at the first run) even when dockerd is down.
        if self._given is None:
            self._given = docker.from_env()
        return self._given

    @asynccontextmanager
    async def session(
        self,
        spec: SandboxSpec,
        tree_tar: bytes | None = None,
        *,
        pack: bytes | None = None,
        commit: str | None = None,
    ) -> AsyncIterator[DockerSession]:
        if (pack is None) != (commit is None) or (pack is None and tree_tar is None):
            raise ValueError("a session needs a tree tar, or a pack and the commit in it")
        slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", spec.run_id)[:40].strip("-.") or "run"
        volume = f"issue-pilot-{slug}-{uuid.uuid4().hex[:8]}"
        labels = {
            LABEL_RUN: spec.run_id,
            LABEL_CREATED: str(int(time.time())),
            LABEL_OWNER: self.owner,
        }
        state = _Session(self._client, spec, volume, labels={**labels, LABEL_VOLUME: volume})
        # tmpfs, because extracting and committing 20k files on disk takes seconds; the holder
        # keeps it mounted between phases (docker unmounts, and empties, an unused one).
        size = f"size={spec.workspace_bytes},uid=1000,gid=1000,mode=0755"
        options = {"type": "tmpfs", "device": "tmpfs", "o": size}
        # The holder only ever runs the fill, never the agent: no CPU cap, so git and the walk
        # feeding it can use a core each.
        holder_config = state.container_config("holder", False, detach=True, nano_cpus=0)
        # Only the run's lease holder opens its session: anything else under this run id is
        # what a worker that died mid-run left.
        await asyncio.to_thread(_remove_run, self._client, spec.run_id, self.owner)
        try:
            await asyncio.to_thread(
                self._client.volumes.create, name=volume, labels=labels, driver_opts=options
            )
            # The first phase's container starts beside the holder, before the tree goes in:
            # a container start is the largest fixed cost of a session.
            starts = [asyncio.to_thread(_run_detached, self._client, holder_config)]
            if spec.prestart is not None:
                config = state.container_config(spec.prestart, False, detach=True)
                starts.append(asyncio.to_thread(_run_detached, self._client, config))
            holder, *first = await asyncio.gather(*starts)
            if spec.prestart is not None:
                state.prepared[spec.prestart] = first[0]
            if pack is not None and commit is not None:
                state.baseline = await asyncio.to_thread(state.fill_from_pack, holder, pack, commit)
            else:
                state.baseline = await asyncio.to_thread(state.fill, holder, tree_tar or b"")
            yield DockerSession(state)
        finally:
            await asyncio.shield(asyncio.to_thread(state.remove_all))

    async def reap(self, older_than_s: float) -> list[str]:
        """Remove what outlived its run by age: see `reap`."""
        return await reap(self._client, older_than_s)

    async def reap_orphans(self, alive: Callable[[str], Awaitable[bool]]) -> list[str]:
        """Remove this owner's containers and volumes of every run `alive` says no worker
        holds."""
        found = await asyncio.to_thread(_labelled, self._client, self.owner)
        dead = {run for run in {run for run, _ in found} if not await alive(run)}
        orphans = [thing for run, thing in found if run in dead]
        return await asyncio.to_thread(_remove_things, orphans)


def _run_detached(client: docker.DockerClient, config: dict[str, Any]) -> Container:
    container = client.containers.run(**config)
    assert isinstance(container, Container)
    return container


def _remove_containers(containers: Iterable[Container]) -> list[str]:
    removed = []
    for container in containers:
        try:
            container.remove(force=True)
            removed.append(str(container.name))
        except NotFound:
            pass
        except APIError as error:
            if "already in progress" not in str(error):
                raise
    return removed


def _labelled(
    client: docker.DockerClient, owner: str | None = None
) -> list[tuple[str, Container | Volume]]:
    """Every container, then every volume, carrying a run label (and `owner`'s label when
    given), with that run id."""
    wanted = [LABEL_RUN, *([f"{LABEL_OWNER}={owner}"] if owner is not None else [])]
    label: dict[str, str | list[str] | bool] = {"label": wanted}
    containers = client.containers.list(all=True, filters=label)
    volumes = client.volumes.list(filters=label)
    return [(c.labels.get(LABEL_RUN, ""), c) for c in containers] + [
        ((v.attrs.get("Labels") or {}).get(LABEL_RUN, ""), v) for v in volumes
    ]


def _remove_run(client: docker.DockerClient, run_id: str, owner: str) -> list[str]:
    return _remove_things([thing for run, thing in _labelled(client, owner) if run == run_id])


def _remove_things(things: list[Container | Volume]) -> list[str]:
    """Containers first (a volume in use cannot go), each one gone or already gone."""
    removed = _remove_containers(t for t in things if isinstance(t, Container))
    for volume in things:
        if isinstance(volume, Volume):
            try:
                volume.remove(force=True)
                removed.append(str(volume.name))
            except NotFound:
                pass
            except APIError:  # still in use by a container that is not ours to remove
                pass
    return removed


def _created(labels: dict[str, str] | None) -> float:
    try:
        return float((labels or {}).get(LABEL_CREATED, "0"))
    except ValueError:
        return 0.0


def _reap(client: docker.DockerClient, older_than_s: float) -> list[str]:
    cutoff = time.time() - older_than_s
    stale: list[Container | Volume] = []
    for _, thing in _labelled(client):
        if isinstance(thing, Container):
            if _created(thing.labels) < cutoff or thing.status in ("exited", "dead"):
                stale.append(thing)
        elif _created(thing.attrs.get("Labels")) < cutoff:
            stale.append(thing)
    return _remove_things(stale)


async def reap(client: docker.DockerClient, older_than_s: float) -> list[str]:
    """Remove labelled containers and volumes that outlived their run; returns their names.

    A container counts as stale once it exited or was made more than `older_than_s` ago."""
    return await asyncio.to_thread(_reap, client, older_than_s)
