"""Read refs, commits and files of a bare repository with the git command line."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

ZERO_SHA = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_SEP = "\x1f"
_COMMIT_FORMAT = _SEP.join(["%H", "%T", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"])


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_date: str
    committer_name: str
    committer_email: str
    committer_date: str
    message: str


def run_git(
    git_dir: str,
    *args: str,
    input_bytes: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "--git-dir", git_dir, *args],
        input=input_bytes,
        env=env,
        capture_output=True,
        check=False,
    )


def git(
    git_dir: str, *args: str, input_bytes: bytes | None = None, env: dict[str, str] | None = None
) -> bytes:
    """The output of a git command that must succeed (RuntimeError with its stderr if not)."""
    result = run_git(git_dir, *args, input_bytes=input_bytes, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace')}")
    return result.stdout


def git_succeeds(git_dir: str, *args: str) -> bool:
    """Whether a git command that answers with its exit status (a check) says yes."""
    return run_git(git_dir, *args).returncode == 0


def list_refs(git_dir: str) -> dict[str, str]:
    """Every branch and tag with the object it points at."""
    out = git(
        git_dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags"
    ).decode()
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def branches(git_dir: str) -> dict[str, str]:
    """Branch name (without ``refs/heads/``) to the commit it points at."""
    return {
        ref.removeprefix("refs/heads/"): sha
        for ref, sha in list_refs(git_dir).items()
        if ref.startswith("refs/heads/")
    }


def resolve_commit(git_dir: str, ref: str) -> str | None:
    """The commit sha a sha, branch or tag names, or None."""
    if ref.startswith("-"):
        return None
    result = run_git(git_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return result.stdout.decode().strip() or None if result.returncode == 0 else None


def read_commit(git_dir: str, sha: str) -> Commit:
    fields = git(git_dir, "show", "-s", f"--format={_COMMIT_FORMAT}", sha).decode().split(_SEP)
    return Commit(
        sha=fields[0],
        tree=fields[1],
        parents=tuple(fields[2].split()),
        author_name=fields[3],
        author_email=fields[4],
        author_date=fields[5],
        committer_name=fields[6],
        committer_email=fields[7],
        committer_date=fields[8],
        message=fields[9].rstrip("\n"),
    )


def commits_between(git_dir: str, before: str, after: str, limit: int = 20) -> list[Commit]:
    """Commits reachable from `after` and not from `before` (or any other ref), oldest first."""
    if before == ZERO_SHA:
        others = [sha for ref, sha in list_refs(git_dir).items() if sha != after]
        spec = [after, *(f"^{sha}" for sha in others)]
    else:
        spec = [after, f"^{before}"]
    out = git(git_dir, "rev-list", "--reverse", f"--max-count={limit}", *spec).decode()
    return [read_commit(git_dir, sha) for sha in out.split()]


def diff_paths(git_dir: str, base: str, head: str) -> list[str]:
    """Paths that differ between `base` and `head` (a rename counts as both), sorted."""
    out = git(git_dir, "diff", "--name-only", "--no-renames", "-z", base, head).decode(
        errors="surrogateescape"
    )
    return sorted(p for p in out.split("\0") if p)


def new_branch_base(git_dir: str, sha: str, branch: str) -> str:
    """What GitHub compares a new branch's push with: the parent of the deepest commit pushed
    (the empty tree under a root commit; `sha` itself when no commit is new)."""
    others = [s for ref, s in list_refs(git_dir).items() if ref != f"refs/heads/{branch}"]
    spec = [sha, *(f"^{s}" for s in others)]
    out = git(git_dir, "rev-list", "--topo-order", "--reverse", *spec).decode()
    if not out.split():
        return sha
    deepest = read_commit(git_dir, out.split()[0])
    return deepest.parents[0] if deepest.parents else EMPTY_TREE


def is_ancestor(git_dir: str, ancestor: str, descendant: str) -> bool:
    return git_succeeds(git_dir, "merge-base", "--is-ancestor", ancestor, descendant)


def changed_files(git_dir: str, commit: Commit) -> tuple[list[str], list[str], list[str]]:
    """(added, removed, modified) paths of a commit against its first parent."""
    base = commit.parents[0] if commit.parents else EMPTY_TREE
    out = git(
        git_dir, "diff-tree", "-r", "--no-commit-id", "--name-status", base, commit.sha
    ).decode()
    added: list[str] = []
    removed: list[str] = []
    modified: list[str] = []
    for line in out.splitlines():
        status, _, path = line.partition("\t")
        {"A": added, "D": removed}.get(status[:1], modified).append(path)
    return added, removed, modified


def list_dir(git_dir: str, sha: str, path: str) -> list[str]:
    try:
        out = git(git_dir, "ls-tree", "--name-only", f"{sha}:{path}")
    except RuntimeError:
        return []
    return out.decode().splitlines()


def read_file(git_dir: str, sha: str, path: str) -> bytes:
    return git(git_dir, "show", f"{sha}:{path}")


def archive(git_dir: str, sha: str) -> bytes:
    return git(git_dir, "archive", "--format=tar", sha)
