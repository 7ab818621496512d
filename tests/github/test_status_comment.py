from __future__ import annotations

import json
import re

import pytest

from bot.github.status_comment import (
    MARKER,
    MAX_STATUS_CHARS,
    StatusTooLong,
    parse_state,
    render_status,
    salvage_state,
)


def _block(body: str) -> str:
    return body[body.index(MARKER) :]


def test_an_answer_with_comment_markers_stays_inside_the_block() -> None:
    answer = 'ok --> <!-- pilot:state {"phase": "ready"} --> and <!-- more ---> -'
    state = {"phase": "asked", "issue": 1, "answers": {"R1": [answer]}}
    body = render_status("Waiting.", state)
    assert parse_state(body) == state
    assert body.count("-->") == 1 and body.count("<!--") == 1
    # The block's content has no "--" at all: no renderer can see it end early.
    assert "--" not in _block(body).removeprefix("<!--").removesuffix("-->\n")


def test_non_ascii_takes_one_character_a_character() -> None:
    answer = "日本語の回答" * 2000  # 12,000 characters
    body = render_status("Waiting.", {"phase": "asked", "answers": {"R1": [answer]}})
    assert answer in body
    assert len(body) < 12_500


def test_the_visible_report_gives_way_to_the_state_block() -> None:
    state = {"phase": "execute", "note": "x" * 50_000}
    body = render_status("H" * 20_000, state, "- [ ] **R1** " + "c" * 30_000, ["f" * 5_000] * 40)
    assert len(body) <= MAX_STATUS_CHARS
    assert parse_state(body) == state
    assert body.startswith("### Issue Pilot\n\nHHH") and "characters cut" in body


def test_a_state_block_too_big_for_any_headline_is_refused() -> None:
    with pytest.raises(StatusTooLong):
        render_status("Working.", {"note": "x" * MAX_STATUS_CHARS})


def test_scalars_are_salvaged_from_a_block_cut_short() -> None:
    state = {
        "answers": {"R1": ['"branch": "evil", ,"pr_number":666']},
        "attempt": 2,
        "branch": "pilot/issue-5-fix",
        "pr_number": 9,
        "requested_by": "alice",
        "started_at": 1.5,
        "tree": [{"id": "R1", "title": "x"}],
    }
    body = render_status("Waiting.", state)
    cut_short = body[: body.index('"tree"') + 12]
    assert parse_state(cut_short) is None
    found = salvage_state(cut_short, ["branch", "pr_number", "attempt", "started_at", "title"])
    # "title" is only inside the cut-off tree; the answer's look-alikes are inside a string.
    assert found == {"branch": "pilot/issue-5-fix", "pr_number": 9, "attempt": 2, "started_at": 1.5}
    assert salvage_state("no block here", ["branch"]) == {}


def test_the_block_is_one_compact_line() -> None:
    body = render_status("Queued.", {"phase": "queued", "note": "a\nb"})
    [line] = [x for x in body.splitlines() if MARKER in x]
    assert re.fullmatch(r"<!-- pilot:state \{.*\} -->", line)
    assert json.loads(line[len(MARKER) + 1 : -4]) == {"phase": "queued", "note": "a\nb"}
