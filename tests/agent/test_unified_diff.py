"""A unified git diff read file by file, on real `git diff` output."""

from __future__ import annotations

from pathlib import Path

from bot.agent.unified_diff import file_changes, unquote
from tests.agent.test_test_weakening import Repo


def test_added_deleted_renamed_and_changed_files(tmp_path: Path) -> None:
    repo = Repo(tmp_path, {"a.py": "x = 1\n", "gone.py": "y = 2\n", "old.txt": "same\n" * 5})
    repo.git("mv", "old.txt", "new.txt")
    diff = repo.change({"a.py": "x = 2\n", "b.py": "z = 3\n"}, delete=("gone.py",))

    changes = {(c.old, c.new): (c.removed, c.added) for c in file_changes(diff)}
    assert changes == {
        ("a.py", "a.py"): (["x = 1"], ["x = 2"]),
        (None, "b.py"): ([], ["z = 3"]),
        ("gone.py", None): (["y = 2"], []),
        ("old.txt", "new.txt"): ([], []),
    }


def test_lines_that_look_like_headers_stay_in_their_hunk(tmp_path: Path) -> None:
    text = "-- a comment\n--- not a header\n+++ nor this\ndiff --git a/x b/x\npage\fbreak\n"
    repo = Repo(tmp_path, {"q.sql": text, "r.sql": "select 1;\n"})
    diff = repo.change({"q.sql": "", "r.sql": "select 2;\n"})

    [q, r] = file_changes(diff)
    assert (q.old, q.new) == ("q.sql", "q.sql")
    assert q.removed == [*text.splitlines()[:4], "page\fbreak"] and q.added == []
    assert (r.removed, r.added) == (["select 1;"], ["select 2;"])


def test_quoted_paths(tmp_path: Path) -> None:
    repo = Repo(tmp_path, {"tëst x.py": "a = 1\n", "plain b.py": "b = 1\n"})
    diff = repo.change({"tëst x.py": "a = 2\n", "plain b.py": "b = 2\n"})

    assert '"a/t\\303\\253st x.py"' in diff
    assert [(c.old, c.new) for c in file_changes(diff)] == [
        ("plain b.py", "plain b.py"),
        ("tëst x.py", "tëst x.py"),
    ]
    assert unquote('"tab\\there \\"q\\""') == 'tab\there "q"'
    assert unquote("plain") == "plain"
