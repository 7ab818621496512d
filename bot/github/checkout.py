"""One run's clone: the tree read out for the sandbox, an untrusted patch applied to an index and
committed with `commit-tree` and trailers, pushed without force."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.core.text import decode
from bot.core.workflow_files import PUSH_REFUSAL, workflow_files
from bot.github.git import Git, WorkspaceError, redact

_TRAILER_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_TRAILER_LINE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*: ")


class PushRejected(WorkspaceError):
    """The remote branch moved on (someone else pushed); we never force over their commits."""


class UnsafePatch(WorkspaceError):
    """The patch touches a path outside the tree or inside .git."""


class WorkflowChange(WorkspaceError):
    """The work changes workflow files, which the remote refuses from this App (`paths`); a
    question for people, not a failure."""

    def __init__(self, message: str, paths: list[str], argv: list[str], stderr: str) -> None:
        super().__init__(message, argv, stderr)
        self.paths = paths


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


@dataclass(frozen=True)
class NodeCommit:
    """A commit of the run's on its branch: the node it did, its message and its diff."""

    node: str
    subject: str
    body: str  # without the trailers
    diff: str


def _without_trailers(body: str) -> str:
    paragraphs = body.strip().split("\n\n")
    if all(_TRAILER_LINE.match(line) for line in paragraphs[-1].splitlines()):
        paragraphs.pop()
    return "\n\n".join(paragraphs).strip()


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
        held_ref: str | None = None,
        lock_fd: int | None = None,
    ) -> None:
        self.git = git
        self.path = path
        self.remote_url = remote_url
        self.branch = branch
        self.base_branch = base_branch
        self.base_sha = base_sha  # where this run started
        self.base_tip = base_tip  # the base branch's tip when the run started
        self.resumed = resumed  # the work branch (or the held ref) already existed on the remote
        # Where pushes go while a writer has not approved the work: no workflow runs on it.
        self.held_ref = held_ref
        self.head_sha = base_sha
        self._index_env = {"GIT_INDEX_FILE": str(path / "pilot-index")}
        self._index_at: str | None = None
        # An flock on the clone while this object lives: housekeeping never removes a clone
        # a live process holds, whatever its age (bot/github/cache_prune.py).
        self._lock_fd = lock_fd

    async def tree_tar(self) -> bytes:
        """The files at head as a tar, without .git."""
        _, out, _ = await self.git.run("archive", "--format=tar", self.head_sha, git_dir=self.path)
        return out

    async def tree_pack(self) -> bytes:
        """A self-contained pack of the head commit, its tree and its blobs, without history
        (for `Sandboxes.session`); deltas are reused from the mirror where their base is in."""
        _, objects, _ = await self.git.run(
            "rev-list", "--objects", "--no-walk", self.head_sha, git_dir=self.path
        )
        # No delta search (--window=0): it would cost more than it saves on the local socket.
        _, pack, _ = await self.git.run(
            "pack-objects", "--stdout", "-q", "--window=0", "--delta-base-offset",
            git_dir=self.path, stdin=objects,
        )  # fmt: skip
        return pack

    async def paths(self) -> list[str]:
        """Every file path at head (for the repository map), without reading the files."""
        _, out, _ = await self.git.run(
            "ls-tree", "-r", "-z", "--name-only", self.head_sha, git_dir=self.path
        )
        return [p for p in out.decode("utf-8", "replace").split("\0") if p]

    async def file_at_head(self, path: str) -> bytes | None:
        return await self.file_at(self.head_sha, path)

    async def file_at(self, sha: str, path: str) -> bytes | None:
        """The file `path` in commit `sha` (`base_tip` for the base branch's); None when the
        commit has no such file."""
        code, out, _ = await self.git.run(
            "cat-file", "blob", f"{sha}:{path.lstrip('/')}", git_dir=self.path, check=False
        )
        return out if code == 0 else None

    async def commit_patch(
        self,
        patch: bytes,
        message: str,
        trailers: list[tuple[str, str]],
        author: tuple[str, str],
        workflows_read_only: bool = False,
    ) -> str | None:
        """Apply a `git diff --cached --binary` patch to head and commit it on the branch;
        None when it changes nothing. The patch is untrusted: it only ever reaches an index,
        never a working tree, and paths outside the tree are refused before and after.
        `WorkflowChange` when it touches `.github/workflows/` and those are read-only."""
        if not patch.strip():
            return None
        code, numstat, stderr = await self.git.run(
            "apply", "--numstat", "-z", git_dir=self.path, stdin=patch, check=False
        )
        if code != 0:
            raise WorkspaceError("the patch does not parse", ["git", "apply", "--numstat"], stderr)
        paths = _numstat_paths(numstat)
        for path in paths:
            check_patch_path(path)
        touched = workflow_files(paths) if workflows_read_only else []
        if touched:
            # Checked before committing: GitHub would refuse the push (the agent's file tools
            # refuse these paths, but `run_command` can still write them).
            raise WorkflowChange(
                "the work changes workflow files", touched, ["git", "apply", "--numstat"], ""
            )
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
        """Push head to the branch (or to the held ref) without force; `PushRejected` if the
        remote moved on."""
        await self._push(f"{self.head_sha}:{self.held_ref or f'refs/heads/{self.branch}'}", token)

    async def publish(self, sha: str, token: str | None) -> None:
        """Push `sha` (held work a writer approved) to the branch, without force."""
        await self._push(f"{sha}:refs/heads/{self.branch}", token)

    async def drop_held(self, token: str | None) -> bool:
        """Delete the held ref on the remote once its work is on the branch; False when the
        remote refused (the ref then only lingers)."""
        if self.held_ref is None:
            return False
        code, _, _ = await self.git.run(
            "push", "--porcelain", "--no-verify", self.remote_url, f":{self.held_ref}",
            git_dir=self.path, token=token, check=False,
        )  # fmt: skip
        return code == 0

    async def review_text(self, sha: str) -> str:
        """What a writer reviews before held work reaches the branch: the commits since the
        base branch, the files they change and the whole diff, as plain text."""
        base = f"refs/remotes/origin/{self.base_branch}"
        _, log, _ = await self.git.run(
            "log", "--reverse", "--no-color", "--format=%h %s", f"{base}..{sha}", "--",
            git_dir=self.path,
        )  # fmt: skip
        _, diff, _ = await self.git.run(
            "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--stat", "--patch",
            f"{base}...{sha}", "--", git_dir=self.path,
        )  # fmt: skip
        return f"{decode(log)}\n{decode(diff)}"

    async def diff_against_base(self) -> str:
        """The branch's change since it left the base branch, head included, as a unified
        diff without binary content."""
        _, diff, _ = await self.git.run(
            "diff", "--no-color", "--no-ext-diff", "--no-textconv",
            f"refs/remotes/origin/{self.base_branch}...{self.head_sha}", "--",
            git_dir=self.path,
        )  # fmt: skip
        return decode(diff)

    async def merge_base(self) -> str | None:
        """Where the branch left the base branch; None when they share no history."""
        code, out, _ = await self.git.run(
            "merge-base", f"refs/remotes/origin/{self.base_branch}", self.head_sha,
            git_dir=self.path, check=False,
        )  # fmt: skip
        return out.decode().strip() or None if code == 0 else None

    async def _push(self, refspec: str, token: str | None) -> None:
        code, out, stderr = await self.git.run(
            "push", "--porcelain", "--no-verify", self.remote_url, refspec,
            git_dir=self.path, token=token, check=False,
        )  # fmt: skip
        if code == 0:
            return
        report = redact(out.decode(errors="replace"), token)
        command = ["git", "push", self.remote_url, refspec]
        for line in report.splitlines():
            if line.startswith("!") and PUSH_REFUSAL in line:
                # `! <src>:<dst> [remote rejected] (refusing to allow a GitHub App to create
                # or update workflow `<path>` without `workflows` permission)`
                path = line.partition("workflow `")[2].partition("`")[0]
                raise WorkflowChange(
                    "the remote refused a workflow change",
                    [path] if path else [],
                    command,
                    f"{report}\n{stderr}",
                )
            if line.startswith("!") and "[rejected]" in line:
                where = refspec.partition(":")[2]
                raise PushRejected(
                    f"the remote {where} has commits this run does not have",
                    command,
                    f"{report}\n{stderr}",
                )
        raise WorkspaceError(
            f"git push failed with exit code {code}", command, f"{report}\n{stderr}"
        )

    async def node_commits(self) -> list[NodeCommit]:
        """The commits between the base branch and head that carry a `Pilot-Node` trailer,
        oldest first, each with its message and its diff (binary files named, not shown)."""
        _, out, _ = await self.git.run(
            "log", "--reverse", "--no-color", "--no-ext-diff", "--no-textconv", "--patch",
            "--format=%x1e%(trailers:key=Pilot-Node,valueonly,unfold)%x1f%s%x1f%b%x1f",
            f"refs/remotes/origin/{self.base_branch}..{self.head_sha}", "--",
            git_dir=self.path,
        )  # fmt: skip
        found: list[NodeCommit] = []
        for record in decode(out).split("\x1e")[1:]:
            fields = record.split("\x1f", 3)
            if len(fields) != 4:
                continue  # a message holding the separators itself: not ours to guess at
            node, subject, body, diff = fields
            ids = node.split()
            if ids:
                found.append(
                    NodeCommit(ids[-1], subject.strip(), _without_trailers(body), diff.strip("\n"))
                )
        return found

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
        if self._lock_fd is not None:
            # Only now: housekeeping must never find the clone unlocked while we still use it.
            os.close(self._lock_fd)
            self._lock_fd = None
