"""The temp-dir Sandboxes the run engine's tests use keep the Docker backend's contract: a
patch of what changed since the last one, paths held inside the workspace, timeouts reported."""

from __future__ import annotations

import tarfile
from io import BytesIO

import pytest

from bot.sandbox.api import Sandboxes, SandboxFileError, SandboxSpec
from tests.sandbox_fake import LocalSandboxes


def tree(files: dict[str, str]) -> bytes:
    out = BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, BytesIO(data))
    return out.getvalue()


async def test_patches_hold_what_changed_since_the_last_one() -> None:
    sandboxes = LocalSandboxes()
    typed: Sandboxes = sandboxes
    spec = SandboxSpec("fake-run", "no-image", command_timeout_s=5)
    async with typed.session(spec, tree({"a.txt": "one\n"})) as session:
        async with session.phase("execute") as sandbox:
            await sandbox.write_file("b.txt", b"two\n")
            first = await sandbox.take_patch()
            assert b"b/b.txt" in first and b"+two" in first
            assert await sandbox.take_patch() == b""
            await sandbox.write_file("__pycache__/x.pyc", b"\0")
            assert await sandbox.take_patch() == b""
            result = await sandbox.run("cat a.txt; echo err >&2; exit 3")
            assert (result.exit_code, result.output) == (3, "one\nerr\n")
            assert await sandbox.read_file("b.txt") == b"two\n"
            with pytest.raises(SandboxFileError):
                await sandbox.read_file("../outside")
        assert sandboxes.live == 1
    assert (sandboxes.opened, sandboxes.live) == (1, 0)


async def test_a_command_past_its_timeout_is_killed_and_reported() -> None:
    spec = SandboxSpec("fake-run", "no-image")
    async with LocalSandboxes().session(spec, tree({})) as session:
        async with session.phase("check") as sandbox:
            result = await sandbox.run("echo started; sleep 30", timeout_s=0.5)
    assert result.timed_out and result.exit_code is None and "started" in result.output
