"""The docker sandbox against the real dockerd: the tree goes in, patches come out, and hostile
commands stay inside their container."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import pytest
import pytest_asyncio

from bot.agent.finish_gate import Change, FinishGate
from bot.github.workspace import Workspace
from bot.sandbox.api import SandboxError, SandboxFileError
from bot.sandbox.cleanup import reap
from bot.sandbox.containers import LABEL_CREATED, LABEL_OWNER, LABEL_RUN
from bot.sandbox.docker_sandbox import DockerSandbox, workspace_path
from bot.sandbox.docker_sandboxes import DockerSandboxes
from bot.sandbox.setup_network import SETUP_NETWORK
from tests.sandbox.docker_support import labelled, make_tar, spec
from tests.services import setting

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Would be found if anything of the test process leaked into the container.
FAKE_SECRET = "ghp_" + uuid.uuid4().hex
os.environ["PILOT_TEST_FAKE_TOKEN"] = FAKE_SECRET

TREE = {
    "README.md": b"# demo\n",
    "src/app.py": b"print('hello')\n",
    "src/logo.bin": bytes(range(256)) * 4,
    "old.txt": b"to be deleted\n",
    "run.sh": b"#!/bin/sh\necho run\n",
}


@pytest.fixture(scope="module")
def sandboxes(client: docker.DockerClient) -> DockerSandboxes:
    return DockerSandboxes(client)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def box(
    sandboxes: DockerSandboxes, client: docker.DockerClient
) -> AsyncIterator[DockerSandbox]:
    """One sandbox shared by the hostile tests: each must leave it usable for the next."""
    shared = spec()
    async with sandboxes.session(shared, make_tar(TREE)) as session:
        async with session.phase("hostile") as sandbox:
            yield sandbox
    assert labelled(client, shared.run_id) == []


async def still_usable(sandbox: DockerSandbox) -> None:
    result = await sandbox.run("echo alive && cat README.md", timeout_s=10)
    assert result.exit_code == 0, result
    assert result.output == "alive\n# demo\n"


async def test_tree_is_in_and_owned_by_the_agent(box: DockerSandbox) -> None:
    result = await box.run("id -u; stat -c '%U %a %n' src src/app.py run.sh; cat src/app.py")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "1000",
        "pilot 755 src",
        "pilot 644 src/app.py",
        "pilot 755 run.sh",
        "print('hello')",
    ]
    assert await box.read_file("src/logo.bin") == TREE["src/logo.bin"]


async def test_container_is_locked_down(box: DockerSandbox, client: docker.DockerClient) -> None:
    attrs = client.containers.get(box.container_id).attrs
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ReadonlyRootfs"] and host["Init"] and not host["Privileged"]
    assert host["Memory"] == host["MemorySwap"] == 512 * 1024**2
    assert (host["PidsLimit"], host["NanoCpus"]) == (128, 10**9)
    assert "exec" in host["Tmpfs"]["/tmp"]
    assert attrs["Config"]["Labels"]["issue-pilot.phase"] == "hostile"
    assert not any(m["Source"].endswith("docker.sock") for m in attrs["Mounts"])


async def test_output_is_interleaved_with_the_exit_code(box: DockerSandbox) -> None:
    result = await box.run("echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.timed_out, result.output) == (3, False, "out\nerr\n")


async def test_patch_applies_on_a_host_copy(
    sandboxes: DockerSandboxes, client: docker.DockerClient, tmp_path: Path
) -> None:
    run = spec()
    async with sandboxes.session(run, make_tar(TREE)) as session:
        async with session.phase("develop") as sandbox:
            await sandbox.write_file("src/app.py", b"print('changed')\n")
            await sandbox.write_file("new/deep/data.bin", bytes(range(255, -1, -1)))
            await sandbox.delete_file("old.txt")
            result = await sandbox.run("printf 'x' >> src/logo.bin && chmod -x run.sh")
            assert result.exit_code == 0
            first = await sandbox.take_patch()
            assert b"GIT binary patch" in first
            assert await sandbox.take_patch() == b""
        async with session.phase("fix") as sandbox:
            await sandbox.write_file("README.md", b"# demo, fixed\n")
            second = await sandbox.take_patch()
            assert b"README.md" in second and b"app.py" not in second
            await sandbox.run("rm -rf .git")
            with pytest.raises(SandboxError):
                await sandbox.take_patch()
    assert labelled(client, run.run_id) == []

    repo = apply_on_host_copy(tmp_path / "repo", [first, second])
    assert (repo / "src/app.py").read_bytes() == b"print('changed')\n"
    assert (repo / "new/deep/data.bin").read_bytes() == bytes(range(255, -1, -1))
    assert (repo / "src/logo.bin").read_bytes() == TREE["src/logo.bin"] + b"x"
    assert not (repo / "old.txt").exists()
    assert not os.access(repo / "run.sh", os.X_OK)
    assert (repo / "README.md").read_bytes() == b"# demo, fixed\n"


def apply_on_host_copy(repo: Path, patches: list[bytes]) -> Path:
    """A git repo holding TREE, as the worker's checkout would, with the patches applied."""
    for name, data in TREE.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    (repo / "run.sh").chmod(0o755)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    for patch in patches:
        subprocess.run([*git, "apply", "--index", "-"], input=patch, check=True)
    return repo


def pushed_remote(root: Path) -> tuple[Path, Path]:
    """A bare remote whose main holds TREE, a symlink and a CRLF rule, on top of some history;
    and the clone that made it."""
    remote, clone = root / "remote.git", root / "clone"
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    (clone / "history.txt").write_bytes(b"gone before the run\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "history"], check=True)
    (clone / "history.txt").unlink()
    for name, data in TREE.items():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).write_bytes(data)
    (clone / "run.sh").chmod(0o755)
    (clone / "link").symlink_to("src/app.py")
    # A checkout that honoured it would hand the agent CRLF files the tar path never shows.
    (clone / ".gitattributes").write_bytes(b"*.md text eol=crlf\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    subprocess.run([*git, "push", "-q", str(remote), "HEAD:refs/heads/main"], check=True)
    return remote, clone


async def test_a_session_filled_from_a_pack(
    sandboxes: DockerSandboxes, client: docker.DockerClient, tmp_path: Path
) -> None:
    remote, clone = pushed_remote(tmp_path)
    checkout = await Workspace(tmp_path / "cache").checkout(
        "t/demo", str(remote), None, "main", "pilot/x"
    )
    run = spec()
    pack = await checkout.tree_pack()
    async with sandboxes.session(run, pack=pack, commit=checkout.head_sha) as s:
        async with s.phase("develop") as sandbox:
            result = await sandbox.run(
                "stat -c '%U %a %F %n' src src/app.py run.sh link; readlink link;"
                " git status --porcelain; git log --format=%H; ls"
            )
            assert result.exit_code == 0, result.output
            assert result.output.splitlines() == [
                "pilot 755 directory src",
                "pilot 644 regular file src/app.py",
                "pilot 755 regular file run.sh",
                "pilot 777 symbolic link link",
                "src/app.py",
                checkout.head_sha,  # its parent is left out, and git knows it
                "README.md",
                "link",
                "old.txt",
                "run.sh",
                "src",
            ]
            assert await sandbox.read_file("README.md") == TREE["README.md"]  # no CRLF
            assert await sandbox.read_file("src/logo.bin") == TREE["src/logo.bin"]
            assert await sandbox.take_patch() == b""
            await sandbox.write_file("src/app.py", b"print('changed')\n")
            await sandbox.delete_file("old.txt")
            result = await sandbox.run("chmod -x run.sh && ln -sfn README.md link")
            assert result.exit_code == 0, result.output
            patch = await sandbox.take_patch()
            assert await sandbox.take_patch() == b""
    assert labelled(client, run.run_id) == []
    checkout.cleanup()

    assert apply_in(clone, patch) == ["link", "old.txt", "run.sh", "src/app.py"]
    assert (clone / "src/app.py").read_bytes() == b"print('changed')\n"
    assert not (clone / "old.txt").exists()
    assert not os.access(clone / "run.sh", os.X_OK)
    assert os.readlink(clone / "link") == "README.md"


def apply_in(clone: Path, patch: bytes) -> list[str]:
    """Apply the patch to the clone's files and index; the paths it changed."""
    git = ["git", "-C", str(clone)]
    subprocess.run([*git, "apply", "--index", "-"], input=patch, check=True)
    changed = subprocess.run([*git, "diff", "--cached", "--name-only"], capture_output=True)
    return changed.stdout.decode().split()


async def test_a_session_needs_a_tree_or_a_pack_with_its_commit(
    sandboxes: DockerSandboxes, client: docker.DockerClient
) -> None:
    run = spec()
    for kwargs in ({}, {"pack": b"PACK"}, {"commit": "0" * 40}):
        with pytest.raises(ValueError):
            async with sandboxes.session(run, **kwargs):  # type: ignore[arg-type]
                pass
    with pytest.raises(SandboxError, match="could not set up the workspace"):
        async with sandboxes.session(run, pack=b"not a pack", commit="0" * 40):
            pass
    assert labelled(client, run.run_id) == []


async def test_file_tools_stay_in_the_workspace(box: DockerSandbox) -> None:
    for path in ("../etc/passwd", "/etc/passwd", "/workspace/../etc/x", "", "/workspace"):
        with pytest.raises(SandboxFileError):
            await box.read_file(path)
    assert workspace_path("/workspace/src/./app.py") == "src/app.py"
    await box.run("ln -sfn /etc/passwd leak && ln -sfn /etc etcdir && ln -sfn src inner")
    with pytest.raises(SandboxFileError, match="outside"):
        await box.read_file("leak")
    with pytest.raises(SandboxFileError, match="outside"):
        await box.write_file("etcdir/x", b"x")
    with pytest.raises(SandboxFileError, match="no such file"):
        await box.read_file("missing.txt")
    with pytest.raises(SandboxFileError, match="no such file"):
        await box.delete_file("missing.txt")
    assert await box.read_file("inner/app.py") == TREE["src/app.py"]
    await box.delete_file("leak")  # the link itself, inside the workspace
    await box.run("rm -f etcdir inner")
    await still_usable(box)


async def test_an_edit_of_the_same_size_in_the_same_second_is_what_runs(box: DockerSandbox) -> None:
    """Python trusts a .pyc while the source's size and whole-second mtime match: `a - b` made
    `a + b` right after a test run would otherwise be tested as the old code."""
    same_second = "touch -d '2020-01-01 00:00:00' same.py"
    show = "python3 -c 'import same; print(same.x)'"
    await box.write_file("same.py", b"x = 3 - 1\n")
    first = await box.run(f"{same_second} && {show}")
    assert first.output.strip() == "2", first.output
    await box.write_file("same.py", b"x = 3 + 1\n")
    second = await box.run(f"{same_second} && {show}")
    assert second.output.strip() == "4", second.output
    await box.run("rm -rf same.py __pycache__")
    await still_usable(box)


async def test_fork_bomb_hits_the_pids_limit(box: DockerSandbox) -> None:
    result = await box.run(":(){ :|:& };:; sleep 2", timeout_s=4)
    assert "Resource temporarily unavailable" in result.output
    assert result.duration_s < 10
    await still_usable(box)


async def test_detached_leftovers_filling_the_pids_limit_are_swept(box: DockerSandbox) -> None:
    fill = "setsid bash -c 'for i in $(seq 300); do sleep 999 & done' >/dev/null 2>&1 &"
    assert (await box.run(f"{fill} sleep 1; echo started", timeout_s=5)).output == "started\n"
    await still_usable(box)


async def test_memory_hog_is_killed(box: DockerSandbox) -> None:
    result = await box.run('python3 -c "x = bytearray(2 * 1024**3)"', timeout_s=30)
    assert not result.timed_out
    assert result.exit_code not in (0, None)
    await still_usable(box)


async def test_no_network(box: DockerSandbox) -> None:
    connect = "import socket; socket.create_connection(('1.1.1.1', 80), timeout=3); print('up')"
    result = await box.run(f'python3 -c "{connect}"', timeout_s=10)
    assert result.exit_code != 0 and "up" not in result.output
    assert "unreachable" in result.output.lower()


async def test_no_secrets_inside(box: DockerSandbox) -> None:
    result = await box.run(
        "env; cat /proc/1/environ; timeout 3 grep -r ghp_ / 2>/dev/null; true", timeout_s=15
    )
    assert FAKE_SECRET not in result.output
    assert "PILOT_" not in result.output
    assert "HOME=/tmp" in result.output


async def test_only_workspace_and_tmp_are_writable(box: DockerSandbox) -> None:
    for target in ("/etc/x", "/x", "/usr/bin/x"):
        assert (await box.run(f"touch {target}")).exit_code != 0
    result = await box.run("echo 'echo hi' > /tmp/t.sh && chmod +x /tmp/t.sh && /tmp/t.sh")
    assert (result.exit_code, result.output) == (0, "hi\n")


async def test_timeout_kills_the_command_and_its_daemons(box: DockerSandbox) -> None:
    started = time.monotonic()
    result = await box.run(
        "nohup setsid sleep 9999 >/dev/null 2>&1 & nohup sleep 9998 >/dev/null 2>&1 & sleep 9997",
        timeout_s=2,
    )
    assert (result.exit_code, result.timed_out) == (None, True)
    assert 1.9 < result.duration_s < 4 and time.monotonic() - started < 8
    left = await box.run(
        "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done | grep -c '^sleep 999'"
    )
    assert left.output.strip() == "0"
    await still_usable(box)


async def test_agent_cannot_take_the_container_down(box: DockerSandbox) -> None:
    result = await box.run(
        "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; kill -9 1; kill -9 -1"
    )
    assert "CapEff:\t0000000000000000" in result.output and "NoNewPrivs:\t1" in result.output
    await still_usable(box)


async def test_endless_output_is_bounded(box: DockerSandbox) -> None:
    result = await box.run("yes", timeout_s=2)
    assert result.timed_out
    assert result.output_bytes > 1024**2
    assert len(result.output) < 40 * 1024 and "bytes of output cut" in result.output
    await still_usable(box)


async def test_reaper_removes_stale_labelled_things(client: docker.DockerClient) -> None:
    run_id = f"stale-{uuid.uuid4().hex[:8]}"
    labels = {LABEL_RUN: run_id, LABEL_CREATED: str(int(time.time()) - 7200)}
    image = str(setting("PILOT_SANDBOX_IMAGE", "issue-pilot-sandbox:bookworm-1"))
    volume = client.volumes.create(name=f"issue-pilot-{run_id}", labels=labels)
    container = client.containers.create(
        image, ["sleep", "60"], labels=labels, volumes={volume.name: {"bind": "/workspace"}}
    )
    fresh = client.volumes.create(
        name=f"issue-pilot-{run_id}-fresh",
        labels={LABEL_RUN: run_id, LABEL_CREATED: str(int(time.time()))},
    )
    try:
        removed = await reap(client, older_than_s=3600)
        assert {container.name, volume.name} <= set(removed)
        assert fresh.name not in removed
        assert labelled(client, run_id) == [fresh.name]
    finally:
        fresh.remove(force=True)


async def test_orphans_of_runs_no_worker_holds_are_removed(
    sandboxes: DockerSandboxes, client: docker.DockerClient
) -> None:
    held, orphan, others = spec(), spec(), spec()
    mine = {LABEL_RUN: orphan.run_id, LABEL_OWNER: sandboxes.owner}
    client.volumes.create(name=f"issue-pilot-{orphan.run_id}", labels=mine)
    # Another deployment's sandbox on the same daemon is never this worker's to reap.
    theirs = {LABEL_RUN: others.run_id, LABEL_OWNER: "another-deployment"}
    client.volumes.create(name=f"issue-pilot-{others.run_id}", labels=theirs)

    async def alive(run_id: str) -> bool:
        return run_id != orphan.run_id and run_id != others.run_id

    try:
        async with sandboxes.session(held, make_tar(TREE)) as session:
            async with session.phase("develop"):
                removed = await sandboxes.reap_orphans(alive)
                assert removed == [f"issue-pilot-{orphan.run_id}"]
                assert len(labelled(client, held.run_id)) == 3  # holder, phase, volume
        assert len(labelled(client, others.run_id)) == 1
    finally:
        client.volumes.get(f"issue-pilot-{others.run_id}").remove(force=True)


async def test_an_error_leaves_nothing_behind(
    sandboxes: DockerSandboxes, client: docker.DockerClient
) -> None:
    run = spec()
    with pytest.raises(RuntimeError):
        async with sandboxes.session(run, make_tar(TREE)) as session:
            async with session.phase("develop", network=True) as sandbox:
                assert (await sandbox.run("true")).exit_code == 0
                attrs = client.containers.get(sandbox.container_id).attrs
                assert attrs["HostConfig"]["NetworkMode"] == SETUP_NETWORK
                assert labelled(client, run.run_id) != []
                raise RuntimeError("the agent crashed")
    assert labelled(client, run.run_id) == []


LEFTOVERS = (
    "mkdir -p pkg node_modules/left .venv/bin && printf 'x = 1\\n' > pkg/mod.py"
    " && python3 -m py_compile pkg/mod.py"
    " && touch node_modules/left/index.js .venv/bin/python stray.pyc"
    " && ls pkg/__pycache__"
)


@pytest.mark.parametrize("fill", ["tar", "pack"])
async def test_what_running_tools_leaves_behind_stays_out_of_the_patch(
    fill: str, sandboxes: DockerSandboxes, tmp_path: Path
) -> None:
    remote, _ = pushed_remote(tmp_path)
    checkout = await Workspace(tmp_path / "cache").checkout(
        "t/leftovers", str(remote), None, "main", "pilot/x"
    )
    source: dict[str, Any] = (
        {"pack": await checkout.tree_pack(), "commit": checkout.head_sha}
        if fill == "pack"
        else {"tree_tar": make_tar(TREE)}
    )
    async with sandboxes.session(spec(), **source) as session:
        async with session.phase("develop") as sandbox:
            result = await sandbox.run(LEFTOVERS)
            assert result.exit_code == 0 and "mod.cpython" in result.output, result.output
            patch = await sandbox.take_patch()
    checkout.cleanup()

    assert b"b/pkg/mod.py" in patch
    for junk in (b"__pycache__", b"node_modules", b".venv", b"stray.pyc"):
        assert junk not in patch


async def test_the_finish_gate_works_in_a_container(
    sandboxes: DockerSandboxes, client: docker.DockerClient
) -> None:
    """The gate's git commands and base_tests.sh, as the agent's user in /workspace."""
    check = b"#!/bin/sh\ngrep -qx hello greet.txt\n"
    run = spec()
    tree = make_tar({"greet.txt": b"hello\n", "tests/check.sh": check})
    async with sandboxes.session(run, tree) as s:
        async with s.phase("develop") as sandbox:
            gate = FinishGate(sandbox, "sh tests/check.sh")
            unchanged = gate.review(await gate.inspect((), 60))
            assert unchanged is not None and "not changed any file" in unchanged
            agents = check.replace(b"hello", b"hi")
            for path, data in (("greet.txt", b"hi\n"), ("tests/check.sh", agents)):
                await sandbox.write_file(path, data)
            await sandbox.write_file("repro.py", b"print(1)\n")
            seen = await gate.inspect((), 60)
            assert seen.changes == (Change(" M", "greet.txt"), Change(" M", "tests/check.sh"))
            assert seen.tests is not None and seen.tests.exit_code == 0, seen.tests
            assert seen.base_tests is not None and seen.base_tests.exit_code == 1, seen.base_tests
            said = gate.review(seen)
            assert said is not None and "versions of the test files you changed" in said
            assert await sandbox.read_file("tests/check.sh") == agents
            status = await sandbox.run("git status --porcelain")
            assert status.output == " M greet.txt\n M tests/check.sh\n?? repro.py\n", status
            assert await gate.remove_scratch(()) == ["repro.py"]
            with pytest.raises(SandboxFileError):
                await sandbox.read_file("repro.py")
            assert b"repro.py" not in await sandbox.take_patch()
    assert labelled(client, run.run_id) == []
