"""Writes and tree/diff reads on bare repositories with git plumbing (no worktrees)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ghsim.git_refs import ZERO_SHA, git, run_git


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str  # blob, tree or commit (submodule)
    sha: str
    size: int
    path: str


@dataclass(frozen=True)
class FileDiff:
    filename: str
    status: str  # added, removed, modified, renamed
    additions: int
    deletions: int
    patch: str
    sha: str
    previous_filename: str | None = None


def _identity_env(name: str, email: str) -> dict[str, str]:
    return {
        **os.environ,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def init_bare(git_dir: str, default_branch: str) -> None:
    Path(git_dir).parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "init", "--quiet", "--bare", f"--initial-branch={default_branch}", git_dir],
        check=True,
        capture_output=True,
    )
    # git http-backend serves receive-pack only when enabled.
    git(git_dir, "config", "http.receivepack", "true")


def commit_tree(
    git_dir: str, tree: str, parents: list[str], message: str, name: str, email: str
) -> str:
    """A new commit of ``tree`` by ``name <email>`` (no ref moves); returns its sha."""
    parent_args = [arg for parent in parents for arg in ("-p", parent)]
    env = _identity_env(name, email)
    return git(git_dir, "commit-tree", tree, *parent_args, "-m", message, env=env).decode().strip()


def commit_files(
    git_dir: str, branch: str, files: dict[str, bytes], message: str, name: str, email: str
) -> str:
    """A root commit holding ``files`` (top-level paths) on ``branch``; returns its sha."""
    lines = []
    for path, content in sorted(files.items()):
        blob = git(git_dir, "hash-object", "-w", "--stdin", input_bytes=content).decode().strip()
        lines.append(f"100644 blob {blob}\t{path}")
    tree = git(git_dir, "mktree", input_bytes=("\n".join(lines) + "\n").encode()).decode()
    sha = commit_tree(git_dir, tree.strip(), [], message, name, email)
    git(git_dir, "update-ref", f"refs/heads/{branch}", sha)
    return sha


def update_ref(git_dir: str, ref: str, sha: str, old: str | None = None) -> None:
    git(git_dir, "update-ref", ref, sha, *([old] if old else []))


def delete_ref(git_dir: str, ref: str) -> None:
    git(git_dir, "update-ref", "-d", ref)


def matching_refs(git_dir: str, prefix: str) -> list[tuple[str, str, str]]:
    """(ref, object sha, object type) for refs starting with ``prefix`` (``refs/...``)."""
    out = git(
        git_dir, "for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", "refs/"
    ).decode()
    rows = [tuple(line.split(" ")) for line in out.splitlines() if line]
    return [(r[0], r[1], r[2]) for r in rows if r[0].startswith(prefix)]


def is_tree_path(path: str) -> bool:
    """Whether ``path`` can name something in a tree: no ``.``/``..``/empty parts, no NUL
    (git refuses ``../x`` as outside the repository rather than saying it is absent)."""
    if not path:
        return True
    return "\0" not in path and all(part not in ("", ".", "..") for part in path.split("/"))


def ls_tree(git_dir: str, commit: str, path: str) -> tuple[TreeEntry | None, list[TreeEntry]]:
    """The entry at ``path`` (None for the root) and, if it is a directory, its children."""
    path = path.strip("/")
    if not is_tree_path(path):
        return None, []
    children_of = f"{commit}:{path}" if path else commit
    entry = None
    if path:
        out = git(git_dir, "ls-tree", "-l", commit, "--", path).decode()
        entries = [_entry(line) for line in out.splitlines() if line]
        if not entries or entries[0].path != path:
            return None, []
        entry = entries[0]
        if entry.type != "tree":
            return entry, []
    out = git(git_dir, "ls-tree", "-l", children_of).decode()
    prefix = f"{path}/" if path else ""
    children = [_entry(line, prefix) for line in out.splitlines() if line]
    return entry, children


def _entry(line: str, prefix: str = "") -> TreeEntry:
    meta, _, path = line.partition("\t")
    mode, kind, sha, size = meta.split()
    return TreeEntry(mode, kind, sha, 0 if size == "-" else int(size), prefix + path)


def read_blob(git_dir: str, sha: str) -> bytes:
    return git(git_dir, "cat-file", "blob", sha)


def merge_base(git_dir: str, a: str, b: str) -> str | None:
    try:
        return git(git_dir, "merge-base", a, b).decode().strip() or None
    except RuntimeError:
        return None


def diff(git_dir: str, base: str, head: str) -> list[FileDiff]:
    """Files changed from ``base`` to ``head`` with their patches (GitHub's PR files)."""
    stats = git(git_dir, "diff", "--numstat", "-M", "-z", base, head).decode()
    names = git(git_dir, "diff", "--name-status", "-M", "-z", base, head).decode()
    statuses = _name_status(names)
    counts = _numstat(stats)
    result = []
    for filename, (status, previous) in statuses.items():
        added, removed = counts.get(filename, (0, 0))
        paths = [p for p in (previous, filename) if p]
        patch = git(git_dir, "diff", "-M", base, head, "--", *paths).decode(errors="replace")
        _, _, body = patch.partition("\n@@")
        result.append(
            FileDiff(
                filename=filename,
                status=status,
                additions=added,
                deletions=removed,
                patch=("@@" + body) if body else "",
                sha=_blob_sha(git_dir, head, filename),
                previous_filename=previous,
            )
        )
    return result


def _name_status(raw: str) -> dict[str, tuple[str, str | None]]:
    parts = raw.split("\0")
    out: dict[str, tuple[str, str | None]] = {}
    i = 0
    words = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "T": "changed"}
    while i < len(parts) and parts[i]:
        code = parts[i]
        if code[0] in "RC":
            out[parts[i + 2]] = (words.get(code[0], "copied"), parts[i + 1])
            i += 3
        else:
            out[parts[i + 1]] = (words.get(code[0], "modified"), None)
            i += 2
    return out


def _numstat(raw: str) -> dict[str, tuple[int, int]]:
    parts = raw.split("\0")
    out: dict[str, tuple[int, int]] = {}
    i = 0
    while i < len(parts) and parts[i]:
        added, removed, path = parts[i].split("\t", 2)
        if not path:  # a rename: the two paths follow
            path = parts[i + 2]
            i += 3
        else:
            i += 1
        out[path] = (int(added) if added != "-" else 0, int(removed) if removed != "-" else 0)
    return out


def _blob_sha(git_dir: str, commit: str, path: str) -> str:
    try:
        return git(git_dir, "rev-parse", f"{commit}:{path}").decode().strip()
    except RuntimeError:
        return ZERO_SHA


def merge_tree(git_dir: str, base: str, head: str) -> str | None:
    """The tree of ``head`` merged into ``base``, or None when they conflict."""
    result = run_git(git_dir, "merge-tree", "--write-tree", base, head)
    if result.returncode != 0:
        return None
    return result.stdout.decode().split("\n", 1)[0].strip()


def merge(git_dir: str, base: str, head: str, message: str, name: str, email: str) -> str | None:
    """A merge commit of ``head`` into ``base`` (not moving any ref); None on conflicts."""
    tree = merge_tree(git_dir, base, head)
    if tree is None:
        return None
    return commit_tree(git_dir, tree, [base, head], message, name, email)


def mergeable(git_dir: str, base: str, head: str) -> bool:
    return merge_tree(git_dir, base, head) is not None
