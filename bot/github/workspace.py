"""The mirror cache and run clones: a bare mirror per repository, fetched under a lock that
serialises processes and coroutines alike, and per run a cheap bare clone borrowing its objects,
locked while its process uses it. Housekeeping (`cache_prune`) respects both locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from bot.github.checkout import Checkout
from bot.github.git import Git, WorkspaceError

LOCK_TIMEOUT_S = 900.0
MIRRORS = "mirrors"
RUNS = "runs"
# Touched on every fetch: the mirror's last use, for least-recently-used eviction.
LAST_USED = "pilot-last-used"
# Inside each run clone, flocked from its birth until `Checkout.cleanup`.
CLONE_LOCK = "pilot-lock"

# The tarball must hold the committed bytes exactly, or the sandbox's patches will not apply
# again; in-tree .gitattributes could otherwise substitute, convert or drop files in `git archive`.
_RUN_ATTRIBUTES = (
    "* -text -eol -ident -filter -working-tree-encoding -export-subst -export-ignore\n"
)


def safe_name(key: str) -> str:
    """A directory name for `key` (a full name or a path); the hash keeps distinct keys apart."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[-60:] or "repo"
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def mirror_lock_path(mirror: Path) -> Path:
    """The file whose flock a mirror's fetches, clone-making and eviction hold."""
    return mirror.with_suffix(".lock")


def _lock_new_clone(run_dir: Path) -> int:
    run_dir.mkdir(parents=True)
    fd = os.open(run_dir / CLONE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    # Blocking, but housekeeping only ever holds a clone's lock for the instant of a test.
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


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
        self.mirrors = cache_dir / MIRRORS
        self.runs = cache_dir / RUNS
        home = cache_dir / "home"  # empty, so no ~/.gitconfig is ever read
        for directory in (self.mirrors, self.runs, home):
            directory.mkdir(parents=True, exist_ok=True)
        self.git = Git(home)
        self.fetches = 0
        self.mirrors_created = 0
        self._local_locks: dict[str, asyncio.Lock] = {}

    def mirror_path(self, key: str) -> Path:
        return self.mirrors / f"{safe_name(key)}.git"

    async def checkout(
        self,
        key: str,
        remote_url: str,
        token: str | None,
        base_branch: str,
        work_branch: str,
        held_ref: str | None = None,
    ) -> Checkout:
        """Fetch the mirror and start a run clone on `work_branch`: from its remote tip if it
        exists (a resumed run), else from `base_branch`. With `held_ref` (a ref outside
        refs/heads that no workflow runs on) the run's pushes go there, and it starts from
        that ref's tip when it has one."""
        if remote_url.startswith("-") or not remote_url:
            raise WorkspaceError(f"not a remote: {remote_url!r}")
        await self._check_branch(base_branch)
        await self._check_branch(work_branch)
        refspecs = ["+refs/heads/*:refs/heads/*"]
        if held_ref is not None:
            await self._check_held_ref(held_ref)
            # A pattern, not the name: fetching a ref the remote lacks would be an error.
            refspecs.append(f"+{held_ref}*:{held_ref}*")
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
                *refspecs,
                git_dir=mirror,
                token=token,
            )
            self.fetches += 1
            (mirror / LAST_USED).touch()
            base_tip = await self._ref(mirror, base_branch)
            work_tip = await self._ref(mirror, work_branch)
            held_tip = await self._full_ref(mirror, held_ref) if held_ref else None
            if base_tip is None:
                raise WorkspaceError(f"the remote has no branch {base_branch!r}")
            start = held_tip or work_tip or base_tip
            # Under the mirror's lock, which eviction takes before it looks for live clones
            # borrowing the mirror's objects: none can appear while it removes the mirror.
            run_dir = self.runs / f"{safe_name(key)}-{uuid.uuid4().hex[:12]}.git"
            lock_fd = _lock_new_clone(run_dir)
            try:
                await self._make_run_clone(
                    run_dir, mirror, start, base_tip, base_branch, work_branch
                )
            except BaseException:
                shutil.rmtree(run_dir, ignore_errors=True)
                os.close(lock_fd)
                raise
        return Checkout(
            git=self.git,
            path=run_dir,
            remote_url=remote_url,
            branch=work_branch,
            base_branch=base_branch,
            base_sha=start,
            base_tip=base_tip,
            resumed=(held_tip or work_tip) is not None,
            held_ref=held_ref,
            lock_fd=lock_fd,
        )

    async def _check_branch(self, name: str) -> None:
        code, _, _ = await self.git.run("check-ref-format", f"refs/heads/{name}", check=False)
        if code != 0 or name.startswith("-"):
            raise WorkspaceError(f"not a valid branch name: {name!r}")

    async def _check_held_ref(self, ref: str) -> None:
        code, _, _ = await self.git.run("check-ref-format", ref, check=False)
        if (
            code != 0
            or not ref.startswith("refs/")
            or ref.startswith(("refs/heads/", "refs/tags/"))
        ):
            raise WorkspaceError(f"not a ref outside branches and tags: {ref!r}")

    async def _ref(self, git_dir: Path, branch: str) -> str | None:
        return await self._full_ref(git_dir, f"refs/heads/{branch}")

    async def _full_ref(self, git_dir: Path, ref: str) -> str | None:
        code, out, _ = await self.git.run(
            "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", git_dir=git_dir, check=False
        )
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
            with _locked_file(mirror_lock_path(self.mirror_path(key))) as fd:
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
