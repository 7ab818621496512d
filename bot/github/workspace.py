"""Host-side git: a cached bare mirror per repository, a cheap clone per run, patch → commit → push.

Every git process gets a fresh environment: no system or global config, no hooks, no credential
helper, no prompts. The token goes to one fetch or push at a time as an environment-config
`http.extraHeader`, so it never reaches a config file, a remote URL, argv or the disk.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

GIT_TIMEOUT_S = 600.0
LOCK_TIMEOUT_S = 900.0

# Settings for every git process. Hooks are off because a pushed or fetched repository must never
# run code on the host; gc is off because run clones borrow the mirror's objects.
_BASE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull),
    ("credential.helper", ""),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("protocol.allow", "never"),
    ("protocol.https.allow", "always"),
    ("protocol.http.allow", "always"),
    ("protocol.file.allow", "always"),
    ("core.fsmonitor", "false"),
    ("init.defaultBranch", "main"),
)

# The tarball must hold the committed bytes exactly, or the sandbox's patches will not apply
# again; in-tree .gitattributes could otherwise substitute, convert or drop files in `git archive`.
_RUN_ATTRIBUTES = (
    "* -text -eol -ident -filter -working-tree-encoding -export-subst -export-ignore\n"
)

_TRAILER_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


class WorkspaceError(RuntimeError):
    """A git command failed; `command` and `stderr` have any token redacted."""

    def __init__(self, message: str, command: Sequence[str] = (), stderr: str = "") -> None:
        self.command = list(command)
        self.stderr = stderr
        detail = f": {' '.join(self.command)}" if self.command else ""
        tail = f"\n{stderr.strip()}" if stderr.strip() else ""
        super().__init__(f"{message}{detail}{tail}")


class PushRejected(WorkspaceError):
    """The remote branch moved on (someone else pushed); we never force over their commits."""


class UnsafePatch(WorkspaceError):
    """The patch touches a path outside the tree or inside .git."""


def _auth_header(token: str) -> str:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"Authorization: Basic {basic}"


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def safe_name(key: str) -> str:
    """A directory name for `key` (a full name or a path); the hash keeps distinct keys apart."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[-60:] or "repo"
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def check_patch_path(path: str) -> None:
    """Refuse anything git would write outside the tree or into a .git directory."""
    pure = PurePosixPath(path)
    parts = pure.parts
    bad = (
        not path
        or "\\" in path
        or "\0" in path
        or pure.is_absolute()
        or any(part in ("..", ".") for part in parts)
        or any(part.rstrip(". ").lower() == ".git" for part in parts)
    )
    if bad:
        raise UnsafePatch(f"patch touches a path outside the tree: {path!r}")


class Git:
    """Runs git with an isolated environment; one instance per Workspace."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.runs = 0  # git processes started, for tests and logs

    def env(
        self, token: str | None = None, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        config = list(_BASE_CONFIG)
        if token:
            config.append(("http.extraHeader", _auth_header(token)))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            # Never discover a repository above our own directories (its config is not ours).
            "GIT_CEILING_DIRECTORIES": str(self.home.parent),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "LC_ALL": "C",
            "GIT_CONFIG_COUNT": str(len(config)),
        }
        for i, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
        env.update(extra or {})
        return env

    @staticmethod
    def _secrets(token: str | None) -> list[str]:
        return [token, _auth_header(token).split()[-1]] if token else []

    async def run(
        self,
        *args: str,
        git_dir: Path | None = None,
        token: str | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout_s: float = GIT_TIMEOUT_S,
    ) -> tuple[int, bytes, str]:
        argv = ["git", *([f"--git-dir={git_dir}"] if git_dir else []), *args]
        self.runs += 1
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env(token, env),
            cwd=self.home,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), timeout_s)
        except (TimeoutError, asyncio.CancelledError) as exc:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            if isinstance(exc, TimeoutError):
                raise WorkspaceError(
                    f"git timed out after {timeout_s:.0f}s", _redact_argv(argv, token)
                ) from None
            raise
        stderr = _redact(err.decode(errors="replace"), self._secrets(token))
        code = proc.returncode if proc.returncode is not None else -1
        if check and code != 0:
            raise WorkspaceError(
                f"git failed with exit code {code}", _redact_argv(argv, token), stderr
            )
        return code, out, stderr

    def run_sync(self, *args: str, git_dir: Path, check: bool = True) -> tuple[int, bytes, str]:
        """For the few quick local reads the caller wants without awaiting."""
        argv = ["git", f"--git-dir={git_dir}", *args]
        self.runs += 1
        result = subprocess.run(
            argv, capture_output=True, env=self.env(), cwd=self.home, timeout=GIT_TIMEOUT_S
        )
        stderr = result.stderr.decode(errors="replace")
        if check and result.returncode != 0:
            raise WorkspaceError(f"git failed with exit code {result.returncode}", argv, stderr)
        return result.returncode, result.stdout, stderr


def _redact_argv(argv: Sequence[str], token: str | None) -> list[str]:
    return [_redact(arg, Git._secrets(token)) for arg in argv]


@contextlib.contextmanager
def _locked_file(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield fd
    finally:
        os.close(fd)  # closing the descriptor releases its flock


class Workspace:
    """Bare mirrors under `cache_dir/mirrors`, per-run clones under `cache_dir/runs`."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.mirrors = cache_dir / "mirrors"
        self.runs = cache_dir / "runs"
        home = cache_dir / "home"  # empty, so no ~/.gitconfig is ever read
        for directory in (self.mirrors, self.runs, home):
            directory.mkdir(parents=True, exist_ok=True)
        self.git = Git(home)
        self.fetches = 0
        self.mirrors_created = 0
        self._local_locks: dict[str, asyncio.Lock] = {}

    def prune_runs(self, older_than_s: float = 24 * 3600) -> int:
        """Remove run clones left behind by a crashed worker; returns how many went."""
        cutoff = time.time() - older_than_s
        removed = 0
        for run_dir in self.runs.iterdir():
            with contextlib.suppress(FileNotFoundError):  # another worker got there first
                if run_dir.stat().st_mtime < cutoff:
                    shutil.rmtree(run_dir, ignore_errors=True)
                    removed += 1
        return removed

    def mirror_path(self, key: str) -> Path:
        return self.mirrors / f"{safe_name(key)}.git"

    async def checkout(
        self,
        key: str,
        remote_url: str,
        token: str | None,
        base_branch: str,
        work_branch: str,
    ) -> Checkout:
        """Fetch the mirror and start a run clone on `work_branch`: from its remote tip if it
        exists (a resumed run), else from `base_branch`."""
        if remote_url.startswith("-") or not remote_url:
            raise WorkspaceError(f"not a remote: {remote_url!r}")
        await self._check_branch(base_branch)
        await self._check_branch(work_branch)
        mirror = self.mirror_path(key)
        async with self._mirror_lock(key):
            await self._ensure_mirror(mirror)
            await self.git.run(
                "fetch",
                "--quiet",
                "--prune",
                "--no-tags",
                "--no-write-fetch-head",
                "--",
                remote_url,
                "+refs/heads/*:refs/heads/*",
                git_dir=mirror,
                token=token,
            )
            self.fetches += 1
            base_tip = await self._ref(mirror, base_branch)
            work_tip = await self._ref(mirror, work_branch)
        if base_tip is None:
            raise WorkspaceError(f"the remote has no branch {base_branch!r}")
        start = work_tip or base_tip
        run_dir = self.runs / f"{safe_name(key)}-{uuid.uuid4().hex[:12]}.git"
        try:
            await self._make_run_clone(run_dir, mirror, start, base_tip, base_branch, work_branch)
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        return Checkout(
            git=self.git,
            path=run_dir,
            remote_url=remote_url,
            branch=work_branch,
            base_branch=base_branch,
            base_sha=start,
            base_tip=base_tip,
            resumed=work_tip is not None,
        )

    async def _check_branch(self, name: str) -> None:
        code, _, _ = await self.git.run("check-ref-format", f"refs/heads/{name}", check=False)
        if code != 0 or name.startswith("-"):
            raise WorkspaceError(f"not a valid branch name: {name!r}")

    async def _ref(self, git_dir: Path, branch: str) -> str | None:
        code, out, _ = await self.git.run(
            "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}",
            git_dir=git_dir, check=False,
        )  # fmt: skip
        return out.decode().strip() if code == 0 else None

    async def _ensure_mirror(self, mirror: Path) -> None:
        if (mirror / "HEAD").exists():
            return
        # Built aside and renamed, so a crash never leaves a half-made mirror in place.
        partial = mirror.with_name(f"{mirror.name}.partial-{uuid.uuid4().hex[:8]}")
        await self.git.run("init", "--quiet", "--bare", "--template=", str(partial))
        partial.rename(mirror)
        self.mirrors_created += 1

    async def _make_run_clone(
        self,
        run_dir: Path,
        mirror: Path,
        start: str,
        base_tip: str,
        base_branch: str,
        work_branch: str,
    ) -> None:
        # A bare repository borrowing the mirror's objects (what `clone --shared` does), with only
        # the two refs the run needs: it costs the same on a 10-file and a 20,000-file repo.
        await self.git.run("init", "--quiet", "--bare", "--template=", str(run_dir))
        (run_dir / "objects" / "info").mkdir(parents=True, exist_ok=True)
        (run_dir / "objects" / "info" / "alternates").write_text(f"{mirror / 'objects'}\n")
        (run_dir / "info").mkdir(exist_ok=True)
        (run_dir / "info" / "attributes").write_text(_RUN_ATTRIBUTES)
        await self.git.run("update-ref", f"refs/heads/{work_branch}", start, git_dir=run_dir)
        await self.git.run(
            "update-ref", f"refs/remotes/origin/{base_branch}", base_tip, git_dir=run_dir
        )
        await self.git.run("symbolic-ref", "HEAD", f"refs/heads/{work_branch}", git_dir=run_dir)

    @contextlib.asynccontextmanager
    async def _mirror_lock(self, key: str) -> AsyncIterator[None]:
        # flock locks belong to open file descriptions, so this serialises other processes and
        # other coroutines alike; polling keeps the wait cancellable.
        local = self._local_locks.setdefault(key, asyncio.Lock())
        async with local:
            with _locked_file(self.mirrors / f"{safe_name(key)}.lock") as fd:
                waited = 0.0
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if waited > LOCK_TIMEOUT_S:
                            raise WorkspaceError(
                                f"timed out waiting for the mirror of {key}"
                            ) from None
                        await asyncio.sleep(0.05)
                        waited += 0.05
                yield


def _numstat_paths(numstat_z: bytes) -> list[str]:
    """Paths from `git apply --numstat -z`: `added\\tdeleted\\tpath\\0`, or for a rename or copy
    `added\\tdeleted\\t\\0old\\0new\\0`."""
    fields = numstat_z.decode("utf-8", "surrogateescape").split("\0")
    paths: list[str] = []
    i = 0
    while i < len(fields):
        record = fields[i]
        i += 1
        if not record:
            continue
        path = record.split("\t", 2)[-1]
        if path:
            paths.append(path)
        else:
            paths.extend(fields[i : i + 2])
            i += 2
    return paths


def format_message(message: str, trailers: Sequence[tuple[str, str]]) -> str:
    """The commit message with `Key: value` trailers as its last paragraph."""
    body = message.strip()
    if not body:
        raise ValueError("a commit needs a message")
    lines = []
    for key, value in trailers:
        if not _TRAILER_KEY.match(key) or "\n" in value or "\r" in value:
            raise ValueError(f"not a valid trailer: {key!r}: {value!r}")
        lines.append(f"{key}: {value.strip()}")
    return body + ("\n\n" + "\n".join(lines) if lines else "") + "\n"


class Checkout:
    """One run's clone: a bare repository over the mirror's objects, its own index, one branch."""

    def __init__(
        self,
        *,
        git: Git,
        path: Path,
        remote_url: str,
        branch: str,
        base_branch: str,
        base_sha: str,
        base_tip: str,
        resumed: bool,
    ) -> None:
        self.git = git
        self.path = path
        self.remote_url = remote_url
        self.branch = branch
        self.base_branch = base_branch
        self.base_sha = base_sha  # where this run started
        self.base_tip = base_tip  # the base branch's tip when the run started
        self.resumed = resumed  # the work branch already existed on the remote
        self.head_sha = base_sha
        self._index_env = {"GIT_INDEX_FILE": str(path / "pilot-index")}
        self._index_at: str | None = None

    def tree_tar(self) -> bytes:
        """The files at head as a tar, without .git."""
        _, out, _ = self.git.run_sync("archive", "--format=tar", self.head_sha, git_dir=self.path)
        return out

    def tree_pack(self) -> bytes:
        """A self-contained pack of the head commit, its tree and its blobs, without history
        (for `Sandboxes.session`); deltas are reused from the mirror where their base is in."""
        _, objects, _ = self.git.run_sync(
            "rev-list", "--objects", "--no-walk", self.head_sha, git_dir=self.path
        )
        # No delta search (--window=0): it would cost more than it saves on the local socket.
        argv = ["git", f"--git-dir={self.path}", "pack-objects", "--stdout", "-q", "--window=0"]
        argv.append("--delta-base-offset")
        self.git.runs += 1
        result = subprocess.run(
            argv, input=objects, capture_output=True, env=self.git.env(), cwd=self.git.home,
            timeout=GIT_TIMEOUT_S,
        )  # fmt: skip
        if result.returncode != 0:
            stderr = result.stderr.decode(errors="replace")
            raise WorkspaceError(f"git failed with exit code {result.returncode}", argv, stderr)
        return result.stdout

    def paths(self) -> list[str]:
        """Every file path at head (for the repository map), without reading the files."""
        _, out, _ = self.git.run_sync(
            "ls-tree", "-r", "-z", "--name-only", self.head_sha, git_dir=self.path
        )
        return [p for p in out.decode("utf-8", "replace").split("\0") if p]

    def file_at_head(self, path: str) -> bytes | None:
        code, out, _ = self.git.run_sync(
            "cat-file", "blob", f"{self.head_sha}:{path.lstrip('/')}", git_dir=self.path,
            check=False,
        )  # fmt: skip
        return out if code == 0 else None

    async def commit_patch(
        self,
        patch: bytes,
        message: str,
        trailers: list[tuple[str, str]],
        author: tuple[str, str],
    ) -> str | None:
        """Apply a `git diff --cached --binary` patch to head and commit it on the branch;
        None when it changes nothing. The patch is untrusted: it only ever reaches an index,
        never a working tree, and paths outside the tree are refused before and after."""
        if not patch.strip():
            return None
        code, numstat, stderr = await self.git.run(
            "apply", "--numstat", "-z", git_dir=self.path, stdin=patch, check=False
        )
        if code != 0:
            raise WorkspaceError("the patch does not parse", ["git", "apply", "--numstat"], stderr)
        for path in _numstat_paths(numstat):
            check_patch_path(path)
        try:
            tree = await self._apply_to_index(patch)
        except WorkspaceError:
            self._index_at = None  # the index may be part-way; rebuild it next time
            raise
        sha = await self._commit_tree(tree, message, trailers, author)
        if sha is not None:
            self._index_at = sha
        return sha

    async def restore(
        self, sha: str, message: str, trailers: list[tuple[str, str]], author: tuple[str, str]
    ) -> str | None:
        """A commit on head whose files are those of `sha` (an earlier commit of the branch):
        going back without rewriting history. None when head already has those files."""
        _, tree, _ = await self.git.run("rev-parse", f"{sha}^{{tree}}", git_dir=self.path)
        return await self._commit_tree(tree.decode().strip(), message, trailers, author)

    async def _commit_tree(
        self, tree: str, message: str, trailers: list[tuple[str, str]], author: tuple[str, str]
    ) -> str | None:
        _, head_tree, _ = await self.git.run(
            "rev-parse", f"{self.head_sha}^{{tree}}", git_dir=self.path
        )
        if tree == head_tree.decode().strip():
            return None
        name, email = author
        identity = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        # commit-tree, not commit: no hooks, no message clean-up that would eat `#12` lines.
        _, out, _ = await self.git.run(
            "commit-tree", tree, "-p", self.head_sha, "-F", "-",
            git_dir=self.path, stdin=format_message(message, trailers).encode(), env=identity,
        )  # fmt: skip
        sha = out.decode().strip()
        await self.git.run(
            "update-ref", f"refs/heads/{self.branch}", sha, self.head_sha, git_dir=self.path
        )
        self.head_sha = sha
        return sha

    async def _apply_to_index(self, patch: bytes) -> str:
        if self._index_at != self.head_sha:
            await self.git.run("read-tree", self.head_sha, git_dir=self.path, env=self._index_env)
            self._index_at = self.head_sha
        self._index_at = None  # until the apply has gone through
        await self.git.run(
            "apply", "--cached", "--whitespace=nowarn",
            git_dir=self.path, stdin=patch, env=self._index_env,
        )  # fmt: skip
        _, changed, _ = await self.git.run(
            "diff-index", "--cached", "--no-renames", "--name-only", "-z", self.head_sha,
            git_dir=self.path, env=self._index_env,
        )  # fmt: skip
        for path in changed.decode("utf-8", "surrogateescape").split("\0"):
            if path:
                check_patch_path(path)
        _, tree, _ = await self.git.run("write-tree", git_dir=self.path, env=self._index_env)
        self._index_at = self.head_sha
        return tree.decode().strip()

    async def push(self, token: str | None) -> None:
        """Push head to the branch without force; `PushRejected` if the remote moved on."""
        refspec = f"{self.head_sha}:refs/heads/{self.branch}"
        code, out, stderr = await self.git.run(
            "push", "--porcelain", "--no-verify", self.remote_url, refspec,
            git_dir=self.path, token=token, check=False,
        )  # fmt: skip
        if code == 0:
            return
        report = _redact(out.decode(errors="replace"), Git._secrets(token))
        command = ["git", "push", self.remote_url, refspec]
        for line in report.splitlines():
            if line.startswith("!") and "[rejected]" in line:
                raise PushRejected(
                    f"the remote branch {self.branch} has commits this run does not have",
                    command,
                    f"{report}\n{stderr}",
                )
        raise WorkspaceError(
            f"git push failed with exit code {code}", command, f"{report}\n{stderr}"
        )

    async def trailers_on_branch(self) -> list[dict[str, str]]:
        """The trailers of each commit between the base branch and head, oldest first;
        commits without trailers are left out."""
        _, out, _ = await self.git.run(
            "log", "--reverse", "--format=%x1e%(trailers:only,unfold)",
            f"refs/remotes/origin/{self.base_branch}..{self.head_sha}", "--",
            git_dir=self.path,
        )  # fmt: skip
        found: list[dict[str, str]] = []
        for record in out.decode(errors="replace").split("\x1e"):
            trailers: dict[str, str] = {}
            for line in record.splitlines():
                key, sep, value = line.partition(":")
                if sep and key.strip():
                    trailers[key.strip()] = value.strip()
            if trailers:
                found.append(trailers)
        return found

    def cleanup(self) -> None:
        """Remove the run clone; safe to call twice."""
        shutil.rmtree(self.path, ignore_errors=True)
