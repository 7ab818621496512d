"""Reading a run clone never holds the event loop: with a git that takes a second, as on a big
repository, the loop still ticks every 50 ms while the sandbox's pack, the paths, the tar and a
file are read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.github.workspace import Workspace
from tests.github.test_workspace import commit_files, git
from tests.loop_probe import loop_probe, slow_git

GIT_DELAY_S = 1.0
MAX_GAP_S = 0.5


async def test_reading_the_tree_leaves_the_loop_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(remote), str(seed))
    commit_files(seed, {"README.md": b"# big\n", "src/app.py": b"print('hi')\n"}, "First")
    git(seed, "push", "-q", "origin", "main")
    run = await Workspace(tmp_path / "cache").checkout(
        "alice/big", str(remote), None, "main", "pilot/issue-1-x"
    )
    slow_git(tmp_path, monkeypatch, GIT_DELAY_S)
    try:
        async with loop_probe() as probe:
            pack, paths, tar, readme = await asyncio.gather(
                run.tree_pack(), run.paths(), run.tree_tar(), run.file_at_head("README.md")
            )
    finally:
        run.cleanup()
    assert paths == ["README.md", "src/app.py"] and readme == b"# big\n"
    assert pack.startswith(b"PACK") and tar
    assert probe.max_gap < MAX_GAP_S, f"the loop stalled for {probe.max_gap:.2f} s"
