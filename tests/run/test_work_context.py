"""What an agent item is told of the run's work so far: earlier requirements' entries and the
branch's diff, each within its bound and cut with a note, binary content never shown."""

from __future__ import annotations

from bot.run.work_context import (
    BRANCH_DIFF_CHARS,
    EARLIER_CHARS,
    PER_NODE_CHARS,
    DoneWork,
    branch_diff,
    earlier_entries,
    readable_diff,
)

TEXT_HUNK = (
    "diff --git a/greet.py b/greet.py\n--- a/greet.py\n+++ b/greet.py\n@@ -1 +1 @@\n-old\n+new\n"
)
BINARY = (
    "diff --git a/logo.png b/logo.png\nnew file mode 100644\nindex 0000000..1b2c3d4\n"
    "GIT binary patch\nliteral 2048\nzcmV+b0RR6000031\n\nliteral 0\nHcmV?d00001\n\n"
)


def diff_of(lines: int) -> str:
    body = "".join(f"+line {i} of the change\n" for i in range(lines))
    return f"diff --git a/big.py b/big.py\n--- a/big.py\n+++ b/big.py\n@@ -0,0 +1 @@\n{body}"


def test_binary_content_and_index_lines_give_way_and_text_hunks_stay_whole() -> None:
    shown = readable_diff((BINARY + TEXT_HUNK).encode())
    assert "zcmV" not in shown and "literal" not in shown and "index " not in shown
    assert "diff --git a/logo.png b/logo.png\n" in shown
    assert "(binary content not shown)" in shown
    assert shown.endswith(TEXT_HUNK)


def test_an_entry_names_the_node_its_summary_and_its_diff() -> None:
    [entry] = earlier_entries([DoneWork("R1", "Add greet()", "greet() added.", TEXT_HUNK)])
    assert entry.startswith("R1: Add greet()\nSummary: greet() added.\nDiff:\n")
    assert entry.endswith(TEXT_HUNK.strip("\n"))
    [empty] = earlier_entries([DoneWork("R2", "Test it", "", "")])
    assert empty == "R2: Test it\nSummary: (no summary)\nIt changed no file."
    assert earlier_entries([]) == []


def test_a_long_diff_is_cut_with_a_note_within_the_node_bound() -> None:
    work = DoneWork("R1", "Big change", "Rewrote it all.", diff_of(1000))
    [entry] = earlier_entries([work])
    assert len(entry) <= PER_NODE_CHARS
    assert "characters cut ...]" in entry
    assert "+line 0 of the change" in entry and "+line 999 of the change" in entry


def test_many_nodes_share_the_whole_bound_evenly() -> None:
    done = [DoneWork(f"R{i}", f"Step {i}", f"Did step {i}.", diff_of(300)) for i in range(5)]
    entries = earlier_entries(done)
    assert [e.split(":", 1)[0] for e in entries] == [f"R{i}" for i in range(5)]
    assert sum(map(len, entries)) <= EARLIER_CHARS
    assert all("characters cut ...]" in e for e in entries)


def test_with_no_room_left_a_diff_is_only_named() -> None:
    done = [DoneWork(f"R{i}", "t" * 150, "s" * 50, diff_of(20)) for i in range(20)]
    entries = earlier_entries(done)
    assert sum(map(len, entries)) <= EARLIER_CHARS
    assert all("is left out: read the files." in e for e in entries)
    assert all("+line" not in e for e in entries)


def test_the_branch_diff_is_cut_with_a_note() -> None:
    assert branch_diff(TEXT_HUNK) == TEXT_HUNK.strip("\n")
    cut_diff = branch_diff(diff_of(2000))
    assert len(cut_diff) <= BRANCH_DIFF_CHARS and "characters cut ...]" in cut_diff
