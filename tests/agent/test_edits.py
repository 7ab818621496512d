"""`edit_file`'s text work (bot/agent/edits.py): exact and loose matches, read_file's line
numbers copied into an edit, and what a miss shows the model."""

from __future__ import annotations

import pytest

from bot.agent.edits import Edited, EditError, apply_edit, numbered, region

CLASS = "class A:\n    def g(self):\n        return 1\n\n    def h(self):\n        return 2\n"


def test_an_exact_match_is_replaced_and_its_lines_reported() -> None:
    assert apply_edit("a b c", "b", "B", "f") == Edited("a B c", 1, 1, loose=False)
    edited = apply_edit("one\ntwo\nthree\n", "two\n", "2\n2b\n", "f")
    assert edited == Edited("one\n2\n2b\nthree\n", 2, 3, loose=False)
    assert apply_edit("one\ntwo\n", "two\n", "", "f") == Edited("one\n", 2, 2, loose=False)


def test_an_exact_match_that_occurs_twice_is_refused() -> None:
    with pytest.raises(EditError, match="occurs 2 times in f; include more surrounding lines"):
        apply_edit("x = 1\nx = 1\n", "x = 1", "x = 2", "f")


def test_lost_indentation_matches_loosely_and_new_is_reindented() -> None:
    old = "def g(self):\n    return 1"
    new = "def g(self):\n    if self:\n        return 0\n    return 1"
    edited = apply_edit(CLASS, old, new, "a.py")
    assert edited.loose and (edited.first_line, edited.last_line) == (2, 5)
    assert edited.text == (
        "class A:\n    def g(self):\n        if self:\n            return 0\n        return 1\n"
        "\n    def h(self):\n        return 2\n"
    )


def test_too_much_indentation_is_taken_off_new() -> None:
    text = "def f():\n    x = 1\n    y = 2\n"
    edited = apply_edit(text, "        x = 1\n        y = 2", "        x = 10\n        y = 20", "f")
    assert edited.loose and edited.text == "def f():\n    x = 10\n    y = 20\n"


def test_reindentation_uses_the_files_tabs() -> None:
    text = "func f() int {\n\tx := 1\n\treturn x\n}\n"
    edited = apply_edit(text, "x := 1\nreturn x", "x := 2\nreturn x * 2", "f.go")
    assert edited.text == "func f() int {\n\tx := 2\n\treturn x * 2\n}\n"


def test_trailing_spaces_and_blank_lines_do_not_stop_a_loose_match() -> None:
    text = "class A:\n    def f(self):   \n        x = 1\n\n        return x\n"
    old = "def f(self):\n    x = 1\n\n    return x\n"
    edited = apply_edit(text, old, "def f(self):\n    return 1\n", "f")
    assert edited.loose and edited.text == "class A:\n    def f(self):\n        return 1\n"


def test_an_ambiguous_loose_match_is_refused_and_nothing_changes() -> None:
    text = "def f():\n    x = 1\n    y = 2\n\ndef g():\n        x = 1\n        y = 2\n"
    with pytest.raises(EditError, match=r"`old` was not found in f\.py") as error:
        apply_edit(text, "x = 1\ny = 2", "x = 3\ny = 4", "f.py")
    assert "x = 3" not in str(error.value)


def test_read_file_numbers_are_stripped_from_old_and_new() -> None:
    text = "a\nb\nc\n"
    assert apply_edit(text, "2| b", "2| B", "f").text == "a\nB\nc\n"
    padded = "\n".join(f"line {n}" for n in range(1, 13)) + "\n"
    edited = apply_edit(padded, " 9| line 9\n10| line 10", " 9| nine\n10| ten", "f")
    assert "line 8\nnine\nten\nline 11" in edited.text
    # A blank line inside the copy has no number; the others still mark it as read_file's.
    assert apply_edit("a\n\nb\n", "1| a\n\n3| b", "1| A\n\n3| B", "f").text == "A\n\nB\n"


def test_numbers_stay_when_not_every_line_has_one() -> None:
    text = "rows = [\n1| x\n]\n"
    assert apply_edit(text, "1| x\n]", "1| y\n]", "f").text == "rows = [\n1| y\n]\n"
    with pytest.raises(EditError):
        apply_edit("a\nb\n", "1| a\nb2", "A", "f")


def test_a_miss_shows_the_closest_lines_numbered() -> None:
    lines = [f"value_{n} = {n}" for n in range(1, 101)]
    lines[59:61] = ["def total(items):", "    return sum(items)"]
    text = "\n".join(lines) + "\n"
    with pytest.raises(EditError) as error:
        apply_edit(text, "def total(itms):\n    return sum(itms)", "x", "calc.py")
    message = str(error.value)
    assert message.startswith("edit_file: `old` was not found in calc.py.")
    assert "The closest lines are 60-61:" in message
    assert "\n60| def total(items):\n61|     return sum(items)\n" in message
    assert "\n57| value_57 = 57\n" in message and "value_56" not in message
    assert "\n64| value_64 = 64\n" in message and "value_65" not in message
    assert "without the numbers" in message


def test_a_miss_in_a_short_file_shows_the_whole_file() -> None:
    with pytest.raises(EditError) as error:
        apply_edit("import os\nprint(os.sep)\n", "zzzzzzzzzzzzqqqq", "x", "s.py")
    assert str(error.value).endswith("The whole file:\n1| import os\n2| print(os.sep)\n3| ")


def test_a_miss_in_a_long_file_with_nothing_alike_says_to_read_it() -> None:
    text = "\n".join(f"v{n} = {n}" for n in range(200))
    with pytest.raises(EditError) as error:
        apply_edit(text, "zzzzzzzzzzzzqqqq", "x", "big.py")
    assert "Nothing in it looks like `old`: read it with `read_file` first." in str(error.value)
    assert "v100" not in str(error.value)


def test_region_numbers_the_edit_with_context() -> None:
    text = "\n".join(f"l{n}" for n in range(1, 21))
    assert region(text, 10, 11) == "\n".join(f"{n:>2}| l{n}" for n in range(7, 15))
    assert region(text, 1, 1) == "1| l1\n2| l2\n3| l3\n4| l4"
    assert region(text, 20, 20).splitlines()[-1] == "20| l20"


def test_region_shows_no_line_after_the_final_newline() -> None:
    assert region("a\nb\n", 2, 2) == "1| a\n2| b"
    assert region("a\n", 2, 2) == "1| a"


def test_region_is_bounded_for_a_long_replacement() -> None:
    text = "\n".join(f"l{n}" for n in range(1, 201))
    shown = region(text, 10, 150).splitlines()
    assert len(shown) == 40 and shown[0] == " 7| l7" and shown[-1] == "46| l46"


def test_numbered_pads_to_the_widest_number() -> None:
    assert numbered(["a", "b"], 9) == " 9| a\n10| b"
