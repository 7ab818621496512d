"""The run's state block, bounded whatever people write (pure).

People's text reaches the state in many places: answers, the question asked, the notes of the
work in progress (a review's line comments, CI logs), errors, check output, the issue's text,
check names. Each is capped where it is kept (`_capped`); when the whole is still over
STATE_CHARS, the least useful parts give way first, in the order of SHRINKS, cut around the
middle with a note of how much went (bot/core/text.py `cut`). What the engine moves on (phase,
branch, pull request, shas, counters, the tree's ids and statuses, the snapshot's hash) is
never cut. Sizes are measured as the block writes them (bot/core/comment_json.py), so a
Japanese answer or a row of dashes counts for what it takes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from bot.agent.requirements import (
    MAX_CRITERIA,
    MAX_CRITERION,
    MAX_DESCRIPTION,
    MAX_NODES,
    MAX_TITLE,
)
from bot.core.comment_json import fit_text, json_chars
from bot.core.snapshot import MAX_STATE_CHARS as ISSUE_CHARS
from bot.github.status_comment import MAX_STATUS_CHARS, render_status
from bot.run.report import StatusReport
from bot.run.state import RunState

# The state block's share of the comment; the visible report (headline, checklist, facts)
# has the rest, and gives way first if it needs more (bot/github/status_comment.py).
STATE_CHARS = MAX_STATUS_CHARS - 10_000
ANSWER_CHARS = 6_000  # one answer; all of them together get ANSWERS_CHARS
ANSWERS_CHARS = 12_000
NOTE_CHARS = 6_000  # one note of the work in progress (a line comment, a CI log); all: NOTES_CHARS
NOTES_CHARS = 16_000
QUESTION_CHARS = 4_000
ERROR_CHARS = 2_000
OUTPUT_CHARS = 3_000
LINE_CHARS = 300  # a title, a name, a reason, a login, a handled event's key
HISTORY = 20  # CI attempts remembered (the best one always among them)
HANDLED = 50
TEST_FINDINGS = 20  # what the guard before `ready` found (bot/run/phases/test_guard.py)
# The fewest characters a text is given when texts share a budget; fewer say nothing.
FLOOR_CHARS = 200

State = dict[str, Any]


def status_body(state: RunState, report: StatusReport) -> str:
    """The status comment for `state`: under MAX_STATUS_CHARS, whatever it holds."""
    return render_status(report.headline, bounded(state.to_dict()), report.checklist, report.facts)


def bounded(data: State, budget: int = STATE_CHARS) -> State:
    """A copy of `data` (RunState.to_dict) whose JSON takes at most `budget` characters: the
    last shrinks leave only short texts (and `render_status` refuses anything longer)."""
    data = copy.deepcopy(data)
    _capped(data)
    for shrink in SHRINKS:
        if json_chars(data) <= budget:
            break
        shrink(data)
    return data


# each text capped -----------------------------------------------------------------------------
def _capped(data: State) -> None:
    _fit(data, "question", QUESTION_CHARS)
    _fit(data, "error", ERROR_CHARS)
    for key in ("requested_by", "outcome", "paused_from", "pr_url", "branch", "base_branch"):
        _fit(data, key, LINE_CHARS)
    for key in ("parked", "hold"):
        _fit_all(data.get(key), LINE_CHARS)
    hold = data.get("hold")
    if isinstance(hold, dict) and isinstance(hold.get("outsiders"), list):
        hold["outsiders"] = [fit_text(str(x), LINE_CHARS) for x in hold["outsiders"][:20]]
    check = data.get("check")
    if isinstance(check, dict):
        _fit(check, "command", LINE_CHARS)
        _fit(check, "output_tail", OUTPUT_CHARS)
    _cap_history(data, HISTORY)
    setup = data.get("detected_setup")
    if isinstance(setup, dict):
        for key in ("commands", "sources"):
            if isinstance(setup.get(key), list):
                setup[key] = [fit_text(str(x), LINE_CHARS) for x in setup[key][:12]]
    _cap_test_guard(data.get("test_guard"))
    if isinstance(data.get("handled"), list):
        data["handled"] = [fit_text(str(k), LINE_CHARS) for k in data["handled"][-HANDLED:]]
    _cap_answers(data, ANSWER_CHARS, ANSWERS_CHARS)
    _cap_work(data, MAX_TITLE, MAX_DESCRIPTION, MAX_CRITERIA, MAX_CRITERION)
    _cap_notes(data, NOTE_CHARS, NOTES_CHARS)
    if isinstance(data.get("tree"), list):
        data["tree"] = data["tree"][:MAX_NODES]
    _cap_tree(data, MAX_TITLE, MAX_DESCRIPTION, MAX_CRITERIA, MAX_CRITERION)
    for key in ("snapshot", "pending_edit"):
        _cap_issue(data.get(key), ISSUE_CHARS)


def _fit(data: Any, key: str, limit: int) -> None:
    if isinstance(data, dict) and isinstance(data.get(key), str):
        data[key] = fit_text(data[key], limit)


def _cap_test_guard(guard: Any) -> None:
    """What the guard before `ready` found (paths and test names the agent chose), and the
    keys people confirmed; a key is short, and kept whole, or the confirmation is lost."""
    if not isinstance(guard, dict):
        return
    for key in ("how", "by", "sha"):
        _fit(guard, key, LINE_CHARS)
    if isinstance(guard.get("findings"), list):
        guard["findings"] = guard["findings"][:TEST_FINDINGS]
        for finding in guard["findings"]:
            _fit_all(finding, LINE_CHARS)
    if isinstance(guard.get("confirmed"), list):
        guard["confirmed"] = [str(k)[:LINE_CHARS] for k in guard["confirmed"][-HANDLED:]]


def _fit_all(data: Any, limit: int) -> None:
    if isinstance(data, dict):
        for key in data:
            _fit(data, key, limit)


def _cap_history(data: State, keep: int) -> None:
    """The last `keep` CI attempts, the best one (fewest failing, the earliest of equals:
    phases/ci.py `_best`, which a fix may go back to) among them."""
    history = data.get("ci_history")
    if not isinstance(history, list):
        return
    entries = [h for h in history if isinstance(h, dict)]
    if len(entries) > keep:
        best = min(entries, key=lambda h: _int(h.get("failing")))
        tail = entries[-keep:]
        entries = tail if best in tail else [best, *entries[-(keep - 1) :]]
    for entry in entries:
        names = entry.get("names")
        if isinstance(names, list):
            entry["names"] = [fit_text(str(n), LINE_CHARS) for n in names[:8]]
    data["ci_history"] = entries


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _cap_answers(data: State, each: int, total: int) -> None:
    """Answers kept newest first within `total`; an older one that does not fit is cut to
    what is left, or dropped, and its node says how many it lost."""
    answers = data.get("answers")
    if not isinstance(answers, dict):
        return
    flat = [
        (node, text)
        for node, texts in answers.items()
        if isinstance(texts, list)
        for text in texts
        if isinstance(text, str)
    ]
    left = total
    kept: list[tuple[str, str]] = []
    dropped: dict[str, int] = {}
    for node, text in reversed(flat):
        # The newest answer is always kept, cut to the budget if need be.
        text = fit_text(text, min(each, left)) if left >= FLOOR_CHARS or not kept else ""
        if not text:
            dropped[node] = dropped.get(node, 0) + 1
            continue
        left -= json_chars(text)
        kept.append((node, text))
    result: dict[str, list[str]] = {}
    for node, count in dropped.items():
        result[node] = [f"({count} earlier answer(s) cut: the run's record has a size limit)"]
    for node, text in reversed(kept):
        result.setdefault(node, []).append(text)
    data["answers"] = result


def _shared(texts: list[str], total: int) -> list[str]:
    """`texts` within `total` characters, the shortest whole and the rest cut to an equal
    share; texts past what FLOOR_CHARS each allows are dropped, with a last line saying so."""
    room = max(1, total // FLOOR_CHARS)
    if len(texts) > room:
        texts = [*texts[: room - 1], f"({len(texts) - room + 1} more note(s) cut)"]
    share: dict[int, int] = {}
    left, count = total, len(texts)
    for index in sorted(range(len(texts)), key=lambda i: json_chars(texts[i])):
        share[index] = left // count
        left -= min(json_chars(texts[index]), share[index])
        count -= 1
    return [fit_text(text, share[i]) for i, text in enumerate(texts)]


def _cap_notes(data: State, each: int, total: int) -> None:
    work = data.get("working")
    if not isinstance(work, dict) or not isinstance(work.get("notes"), list):
        return
    notes = [fit_text(str(note), each) for note in work["notes"]]
    work["notes"] = _shared(notes, total) if json_chars(notes) > total else notes


def _cap_node(node: Any, title: int, description: int, criteria: int, criterion: int) -> None:
    if not isinstance(node, dict):
        return
    _fit(node, "title", title)
    _fit(node, "description", description)
    if isinstance(node.get("acceptance"), list):
        node["acceptance"] = [fit_text(str(c), criterion) for c in node["acceptance"][:criteria]]


def _cap_tree(data: State, title: int, description: int, criteria: int, criterion: int) -> None:
    for node in data.get("tree") or []:
        _cap_node(node, title, description, criteria, criterion)


def _cap_work(data: State, title: int, description: int, criteria: int, criterion: int) -> None:
    work = data.get("working")
    _cap_node(work, title, description, criteria, criterion)
    for key in ("node", "park_as", "restore_to"):
        _fit(work, key, LINE_CHARS)


def _cap_issue(snapshot: Any, body: int) -> None:
    """A snapshot's body cut marks it `cut`: the run reads the whole text back from GitHub
    while its hash still matches (bot/run/issue_text.py). The hash itself always stays."""
    if not isinstance(snapshot, dict):
        return
    _fit(snapshot, "title", LINE_CHARS * 3)
    _fit(snapshot, "by", LINE_CHARS)
    text = snapshot.get("body")
    if isinstance(text, str) and json_chars(text) > body:
        snapshot["body"] = fit_text(text, body) if body >= FLOOR_CHARS else ""
        snapshot["cut"] = True


# the whole shrunk, least useful first -------------------------------------------------------
def _old_ci_attempts(data: State) -> None:
    _cap_history(data, 5)


def _work_notes(data: State) -> None:
    _cap_notes(data, NOTE_CHARS, 4_000)


def _answers(data: State) -> None:
    _cap_answers(data, ANSWER_CHARS, 4_000)


def _check_output(data: State) -> None:
    _fit(data.get("check"), "output_tail", 1_000)


def _issue_text(data: State) -> None:
    # The pending edit first: an approved one is read back whole from GitHub, where it is.
    for key in ("pending_edit", "snapshot"):
        _cap_issue(data.get(key), 4_000)


def _question_and_error(data: State) -> None:
    _fit(data, "question", 1_000)
    _fit(data, "error", 500)


def _plan_text(data: State) -> None:
    _cap_tree(data, 100, 300, 3, 200)
    _cap_work(data, 100, 300, 3, 200)


def _all_people_wrote(data: State) -> None:
    data.pop("answers", None)
    data.pop("check", None)
    if isinstance(data.get("working"), dict):
        data["working"]["notes"] = ["(the notes were cut: the run's record has a size limit)"]
    _cap_history(data, 2)
    if isinstance(data.get("handled"), list):
        data["handled"] = data["handled"][-20:]
    _fit(data, "question", LINE_CHARS)
    _fit(data, "error", LINE_CHARS)
    for key in ("pending_edit", "snapshot"):
        _cap_issue(data.get(key), 0)
    _cap_tree(data, 60, 60, 1, 60)
    _cap_work(data, 60, 60, 1, 60)


def _every_text(data: State) -> None:
    """Only a state no run writes gets here (loaded from a block edited by hand, with keys
    nothing reads): every string is cut short, shas, ids and branch names stay whole."""
    _squash(data)


def _squash(value: Any) -> Any:
    if isinstance(value, dict):
        for key in value:
            value[key] = _squash(value[key])
    elif isinstance(value, list):
        value[:] = [_squash(item) for item in value[-50:]]
    elif isinstance(value, str):
        return fit_text(value, 100)
    return value


SHRINKS: tuple[Callable[[State], None], ...] = (
    _old_ci_attempts,
    _work_notes,
    _answers,
    _check_output,
    _issue_text,
    _question_and_error,
    _plan_text,
    _all_people_wrote,
    _every_text,
)
