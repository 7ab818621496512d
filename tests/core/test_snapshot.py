from __future__ import annotations

import json

from bot.core.comment_json import json_chars
from bot.core.snapshot import MAX_STATE_CHARS, IssueSnapshot, digest


def test_a_snapshot_holds_the_visible_text_and_the_hash_of_what_github_held() -> None:
    snap = IssueSnapshot.take("Fix\u200b it", "Do X.<!-- and Y -->")
    assert (snap.title, snap.body, snap.hidden, snap.cut) == ("Fix it", "Do X.", 2, False)
    assert snap.sha256 == digest("Fix\u200b it", "Do X.<!-- and Y -->")
    # A hidden change is a change: the labeller did not see it either way.
    assert snap.sha256 != IssueSnapshot.take("Fix\u200b it", "Do X.<!-- and Z -->").sha256
    assert IssueSnapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap


def test_title_and_body_cannot_be_traded_for_the_same_hash() -> None:
    assert digest("a", "b c") != digest("a b", "c")


def test_a_huge_body_is_cut_to_its_share_of_the_state_block() -> None:
    snap = IssueSnapshot.take("t", "日本-- " * 20_000)
    assert snap.cut
    # Measured as the state block writes it: Japanese as itself, "--" escaped.
    assert MAX_STATE_CHARS - 10 <= json_chars(snap.body) <= MAX_STATE_CHARS
    assert snap.body and "日本-- ".startswith(snap.body[:4])
    whole = IssueSnapshot.take("t", "日本-- " * 20_000, limit=None)
    assert not whole.cut and whole.body == "日本-- " * 20_000
    assert whole.sha256 == snap.sha256


def test_unusable_state_reads_as_none() -> None:
    assert IssueSnapshot.from_dict(None) is None
    assert IssueSnapshot.from_dict({"title": "x"}) is None
    assert IssueSnapshot.from_dict("text") is None
