from __future__ import annotations

import os
import stat
from pathlib import Path

from bot.github import env_file


def test_update_replaces_in_place_keeps_the_rest_and_appends_new(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# top\nA=1\nexport B='two words'\nA=dup\nC=3 # note\n\nD=4\n")
    env_file.update(path, {"A": "new", "E": "with space"}, drop=["C"], header="added")
    assert path.read_text() == (
        "# top\nA=new\nexport B='two words'\n\nD=4\n\n# added\nE=\"with space\"\n"
    )
    assert env_file.read(path) == {"A": "new", "B": "two words", "D": "4", "E": "with space"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_read_understands_comments_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text('X=1 # one\nY="a # b"\n# Z=3\n')
    assert env_file.read(path) == {"X": "1", "Y": "a # b"}
    assert env_file.read(tmp_path / "missing") == {}


def test_write_private_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        env_file.write_private(tmp_path / "k.pem", "key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))


def test_write_private_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    victim.chmod(0o644)
    key = tmp_path / "github-app.pem"
    (tmp_path / ".github-app.pem.tmp").symlink_to(victim)
    env_file.write_private(key, "SECRET KEY\n")
    assert victim.read_text() == "keep me\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert not key.is_symlink() and key.read_text() == "SECRET KEY\n"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
