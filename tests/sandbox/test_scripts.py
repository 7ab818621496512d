"""The in-container scripts, run here with the local python3, bash and git on a temporary
workspace, by the same command lines the sandbox sends into its container.

The sweep is not run here: its `kill -9 -1` would end every process of the user running the
tests. The real-docker tests in test_sandbox.py cover it, and the scripts' work inside the
container (users, pids limit, read-only root) as a whole.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from bot.sandbox import scripts

TREE = {
    "README.md": b"# demo\n",
    "run.sh": b"#!/bin/sh\necho run\n",
    "src/app.py": b"print('hello')\n",
    "node_modules/kept.js": b"tracked, though under a build leftover's path\n",
}
LINKS = {"latest": "README.md"}
LEFTOVERS = (
    "__pycache__/m.cpython-311.pyc", "pkg/__pycache__/x.pyc", "mod.pyc", ".pytest_cache/v",
    ".venv/lib.py", "node_modules/new.js", ".mypy_cache/x", ".ruff_cache/x", ".tox/x",
)  # fmt: skip


@pytest.fixture
def root(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    return workspace.resolve()


def run(
    cmd: list[str], stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    # Nothing of the test process's git set-up (a global config, hooks) reaches the scripts.
    env = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    env |= {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}
    return subprocess.run(cmd, input=stdin, capture_output=True, env=env, cwd=cwd, timeout=60)


def git(root: Path, *args: str) -> str:
    result = run(["git", "-C", str(root), *args])
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def make_tar(files: dict[str, bytes], links: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
        for name, target in links.items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buf.getvalue()


def fill(root: Path) -> str:
    result = run(scripts.fill_command(with_tar=True, root=str(root)), make_tar(TREE, LINKS))
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().strip().splitlines()[-1]


def file_tool(
    root: Path, op: str, rel: str, data: bytes = b"", limit: int = 1024
) -> subprocess.CompletedProcess[bytes]:
    return run(scripts.file_tool_command(op, rel, limit, root=str(root)), data)


def take_patch(root: Path, base: str) -> tuple[subprocess.CompletedProcess[bytes], str]:
    result = run(scripts.take_patch_command(base, root=str(root)))
    lines = result.stderr.decode().strip().splitlines()
    baseline = lines[-1].removeprefix("PILOT-BASELINE ") if lines else ""
    return result, baseline


def refused(result: subprocess.CompletedProcess[bytes], why: str) -> bool:
    return result.returncode == scripts.FILE_REFUSED and result.stderr.decode().endswith(why)


def test_file_tool_writes_reads_and_deletes_inside_the_workspace(root: Path) -> None:
    data = b"binary\0and text\n"
    assert file_tool(root, "write", "src/new/deep.bin", data).returncode == 0
    assert (root / "src/new/deep.bin").read_bytes() == data
    assert file_tool(root, "read", "./src/../src/new/deep.bin").stdout == data
    assert file_tool(root, "delete", "src/new/deep.bin").returncode == 0
    assert not (root / "src/new/deep.bin").exists()


@pytest.mark.parametrize("rel", ["../outside.txt", "src/../../outside.txt", ".", "", "{tmp}/o.txt"])
def test_file_tool_refuses_paths_outside_the_workspace(root: Path, rel: str) -> None:
    rel = rel.format(tmp=root.parent)
    for op in ("write", "read", "delete"):
        assert refused(file_tool(root, op, rel, b"x"), "is outside the workspace"), op
    assert sorted(p.name for p in root.parent.iterdir()) == ["workspace"]


def test_file_tool_refuses_symlinks_leading_out(root: Path, tmp_path: Path) -> None:
    secret, elsewhere = tmp_path / "secret.txt", tmp_path / "elsewhere"
    secret.write_bytes(b"secret")
    elsewhere.mkdir()
    (root / "src").mkdir()
    (root / "src/app.py").write_bytes(b"app")
    (root / "leak").symlink_to(secret)
    (root / "out").symlink_to(elsewhere)
    (root / "inner").symlink_to("src")
    assert refused(file_tool(root, "read", "leak"), "is a symlink that leads outside the workspace")
    assert refused(file_tool(root, "write", "leak", b"x"), "leads outside the workspace")
    on_the_way = "a symlink on the way leads outside the workspace"
    assert refused(file_tool(root, "write", "out/x", b"x"), on_the_way)
    assert refused(file_tool(root, "read", "out/x"), on_the_way)
    assert file_tool(root, "read", "inner/app.py").stdout == b"app"
    assert file_tool(root, "delete", "leak").returncode == 0  # the link itself, inside
    assert not (root / "leak").is_symlink() and secret.read_bytes() == b"secret"
    assert list(elsewhere.iterdir()) == []


def test_file_tool_refusals_inside_the_workspace(root: Path) -> None:
    (root / "dir").mkdir()
    (root / "big.txt").write_bytes(b"x" * 1025)
    assert refused(file_tool(root, "read", "missing.txt"), "missing.txt: no such file")
    assert refused(file_tool(root, "delete", "missing.txt"), "no such file")
    assert refused(file_tool(root, "read", "dir"), "is not a regular file")
    assert refused(file_tool(root, "delete", "dir"), "is a directory")
    assert refused(file_tool(root, "write", "dir", b"x"), "is a directory")
    assert refused(file_tool(root, "read", "big.txt"), "is larger than 1024 bytes")
    assert file_tool(root, "read", "big.txt", limit=1025).stdout == b"x" * 1025


def test_fill_commits_the_tree_as_the_baseline(root: Path) -> None:
    baseline = fill(root)
    assert baseline == git(root, "rev-parse", "HEAD").strip()
    assert git(root, "branch", "--show-current") == "pilot-base\n"
    assert git(root, "log", "-1", "--format=%cn <%ce>|%s") == (
        f"{scripts.GIT_NAME} <{scripts.GIT_EMAIL}>|pilot: base\n"
    )
    modes = {
        line.split("\t")[1]: line.split(" ")[0] for line in git(root, "ls-files", "-s").splitlines()
    }
    assert modes == {
        "README.md": "100644", "latest": "120000", "node_modules/kept.js": "100644",
        "run.sh": "100755", "src/app.py": "100644",
    }  # fmt: skip
    assert git(root, "status", "--porcelain") == ""
    assert (root / ".git/info/exclude").read_text() == "\n".join(scripts.BUILD_LEFTOVERS) + "\n"


def test_fill_without_a_tar_commits_an_empty_tree(root: Path) -> None:
    result = run(scripts.fill_command(with_tar=False, root=str(root)))
    assert result.returncode == 0, result.stderr
    assert git(root, "ls-files") == ""
    assert result.stdout.decode().split()[-1] == git(root, "rev-parse", "HEAD").strip()


def test_take_patch_has_the_agents_work_and_moves_the_baseline(root: Path, tmp_path: Path) -> None:
    base = fill(root)
    (root / "README.md").write_bytes(b"# demo, changed\n")
    (root / "src/app.py").unlink()
    (root / "new.txt").write_bytes(b"new\n")
    (root / "logo.bin").write_bytes(bytes(range(256)))
    (root / "node_modules/kept.js").write_bytes(b"changed\n")
    for leftover in LEFTOVERS:
        (root / leftover).parent.mkdir(parents=True, exist_ok=True)
        (root / leftover).write_bytes(b"leftover\n")
    result, baseline = take_patch(root, base)
    assert result.returncode == 0, result.stderr
    patch = result.stdout
    assert baseline == git(root, "rev-parse", "HEAD").strip() != base
    assert git(root, "log", "-1", "--format=%cn|%s") == f"{scripts.GIT_NAME}|pilot: checkpoint\n"
    for leftover in LEFTOVERS:
        assert leftover.encode() not in patch
    # The patch applied to the base tree gives the workspace, leftovers aside.
    other = tmp_path / "other"
    other.mkdir()
    assert run(scripts.fill_command(True, str(other)), make_tar(TREE, LINKS)).returncode == 0
    applied = run(["git", "apply", "--binary", "-"], patch, cwd=other)
    assert applied.returncode == 0, applied.stderr
    for name in ("README.md", "new.txt", "logo.bin", "node_modules/kept.js"):
        assert (other / name).read_bytes() == (root / name).read_bytes()
    assert not (other / "src/app.py").exists()
    again, same = take_patch(root, baseline)
    assert again.returncode == 0 and again.stdout == b"" and same == baseline


def test_take_patch_ignores_what_the_agent_put_in_git_config(root: Path, tmp_path: Path) -> None:
    base = fill(root)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "post-commit").write_text(f"#!/bin/sh\ntouch {tmp_path}/hook-ran\n")
    (hooks / "post-commit").chmod(0o755)
    for key, value in {
        "core.hooksPath": str(hooks), "commit.gpgsign": "true", "user.name": "Agent",
        "core.autocrlf": "true", "diff.noprefix": "true", "diff.external": "false",
    }.items():  # fmt: skip
        git(root, "config", key, value)
    (root / "README.md").write_bytes(b"# changed\n")
    result, baseline = take_patch(root, base)
    assert result.returncode == 0, result.stderr
    assert b"--- a/README.md\n+++ b/README.md\n" in result.stdout
    assert git(root, "log", "-1", "--format=%cn") == f"{scripts.GIT_NAME}\n"
    assert baseline != base and not (tmp_path / "hook-ran").exists()


def test_take_patch_fails_when_the_baseline_is_gone(root: Path) -> None:
    fill(root)
    result, _ = take_patch(root, "0" * 40)
    assert result.returncode == 90
    assert f"baseline commit {'0' * 40} is gone" in result.stderr.decode()


def test_pack_fill_checks_the_commit_out_as_committed(root: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    git(tmp_path, "init", "-q", str(source))
    identity = ["-c", "user.name=t", "-c", "user.email=t@localhost"]
    (source / "old.txt").write_bytes(b"history\n")
    git(source, "add", "-A")
    git(source, *identity, "commit", "-q", "-m", "first")
    parent = git(source, "rev-parse", "HEAD").strip()
    # Attributes that would rewrite the bytes on checkout: the workspace gets them as committed.
    (source / ".gitattributes").write_bytes(b"*.txt eol=crlf\n")
    (source / "a.txt").write_bytes(b"one\ntwo\n")
    (source / "run.sh").write_bytes(b"#!/bin/sh\n")
    (source / "run.sh").chmod(0o755)
    (source / "latest").symlink_to("a.txt")
    git(source, "add", "-A")
    git(source, *identity, "commit", "-q", "-m", "second")
    head = git(source, "rev-parse", "HEAD").strip()
    objects = git(source, "rev-list", "--objects", "--no-walk", head).encode()
    packed = run(
        ["git", "-C", str(source), "pack-objects", "--stdout", "-q", "--window=0"], objects
    )
    result = run(scripts.pack_fill_command(head, root=str(root)), packed.stdout)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().split()[-1] == head
    assert (root / "a.txt").read_bytes() == b"one\ntwo\n"
    assert os.readlink(root / "latest") == "a.txt" and os.access(root / "run.sh", os.X_OK)
    assert (root / ".git/shallow").read_text() == head + "\n"
    assert (root / ".git/info/exclude").read_text() == "\n".join(scripts.BUILD_LEFTOVERS) + "\n"
    assert not (root / ".git/info/attributes").exists()
    assert git(root, "log", "--format=%H") == head + "\n"
    other = tmp_path / "other"
    other.mkdir()
    wrong = run(scripts.pack_fill_command(parent, root=str(other)), packed.stdout)
    assert wrong.returncode != 0


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_run_wrapper_interleaves_output_and_keeps_the_exit_code() -> None:
    result = run(scripts.run_command("echo one; echo two >&2; echo three; exit 7", 30.0))
    assert (result.returncode, result.stdout, result.stderr) == (7, b"one\ntwo\nthree\n", b"")


def test_run_wrapper_ends_what_the_command_left_in_its_group() -> None:
    started = time.monotonic()
    result = run(scripts.run_command("sleep 60 & echo $!", 30.0))
    assert result.returncode == 0 and time.monotonic() - started < 30
    leftover = int(result.stdout)
    for _ in range(100):
        if not alive(leftover):
            break
        time.sleep(0.02)
    assert not alive(leftover)


def test_run_wrapper_kills_the_command_at_its_timeout() -> None:
    started = time.monotonic()
    result = run(scripts.run_command("echo started; sleep 30", 0.5))
    assert (result.returncode, result.stdout) == (137, b"started\n")
    assert time.monotonic() - started < 10


def test_the_run_wrapper_says_what_the_host_looks_for_when_the_pids_limit_is_full() -> None:
    # The check reads the container's cgroup, so it cannot be made to fire here.
    assert f'{{ echo "{scripts.PIDS_FULL}"; exit 125; }}' in scripts.RUN_WRAPPER
