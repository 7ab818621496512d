from __future__ import annotations

import json

from bot.core.comment_json import comment_json, fit_text, json_chars


def test_text_in_any_script_is_written_as_itself() -> None:
    text = "日本語の回答です。" * 100
    assert comment_json({"a": text}) == json.dumps({"a": text}, ensure_ascii=False).replace(" ", "")
    # As json.dumps escapes it by default, the same answer would take six times as much.
    assert len(json.dumps(text)) > 5 * json_chars(text)


def test_no_two_dashes_stand_side_by_side_however_many_there_were() -> None:
    for dashes in range(1, 9):
        text = "a" + "-" * dashes + ">b<!" + "-" * dashes
        written = comment_json([text, -1])
        assert "--" not in written, dashes
        assert json.loads(written) == [text, -1]


def test_line_separators_are_escaped() -> None:
    written = comment_json("a\u2028b\u2029c\x85d\ne")
    assert not {"\u2028", "\u2029", "\x85", "\n"} & set(written)
    assert json.loads(written) == "a\u2028b\u2029c\x85d\ne"


def test_a_text_is_cut_to_its_written_size_keeping_head_and_tail() -> None:
    text = "頭" * 50 + "-" * 5000 + "尾" * 50
    kept = fit_text(text, 1000)
    assert json_chars(kept) <= 1000 < json_chars(text)
    assert kept.startswith("頭" * 50) and kept.endswith("尾" * 50)
    assert "characters cut" in kept
    assert fit_text("short", 1000) == "short"
    assert fit_text(text, 10) == ""
