"""The dashboard's view functions: what a person reads of a run, its tree and its timeline."""

from __future__ import annotations

import pytest

from bot.core.feed import feed_event
from bot.web.dashboard import text as dashboard_text
from bot.web.dashboard import timeline as dashboard_timeline
from bot.web.dashboard import view as dashboard_view
from tests.dashboard_support import ISSUE_URL, RUN_ID, step, summary

NOW = 1_000_000.0


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (-30, "just now"),
        (3, "just now"),
        (42, "42 s ago"),
        (180, "3 min ago"),
        (3599, "59 min ago"),
        (7200, "2 h ago"),
        (86400, "1 day ago"),
        (5 * 86400 + 7, "5 days ago"),
    ],
)
def test_ages_read_as_a_person_says_them(seconds: float, said: str) -> None:
    assert dashboard_text.age(seconds) == said


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/x",
        "/dashboard",
        "https://",
        "https://a.example/\nx",
        None,
        42,
    ],
)
def test_only_absolute_http_links_survive(url: object) -> None:
    assert dashboard_text.safe_url(url) is None


def test_http_and_https_links_are_kept() -> None:
    for url in ("https://github.com/a/b/pull/1", "http://127.0.0.1:3000/a/b/issues/2"):
        assert dashboard_text.safe_url(url) == url


def test_a_headline_keeps_bold_and_code_and_nothing_else() -> None:
    shown = dashboard_text.segments("CI failed on `abc1234`: **lint** <b>x</b> ** `")
    assert [(s.kind, s.text) for s in shown] == [
        ("text", "CI failed on "),
        ("code", "abc1234"),
        ("text", ": "),
        ("strong", "lint"),
        ("text", " <b>x</b> ** `"),
    ]
    assert dashboard_text.segments(None) == []


def test_a_row_shows_the_budget_used_of_its_limits() -> None:
    row = dashboard_view.run_row(summary(NOW), NOW)
    assert (row.repo, row.issue, row.phase, row.tone) == ("alice/hello", "#3", "working", "working")
    assert row.budget == dashboard_view.Budget("123,456 of 400,000", 31, "ok", "14 steps", "2 of 3")
    assert row.age == "just now" and row.href == f"/dashboard/runs/{RUN_ID}"

    spent = dashboard_view.budget(summary(NOW, tokens_used=390_000, ci_attempt=0, steps=1))
    assert (spent.percent, spent.tone, spent.ci, spent.steps) == (98, "high", "—", "1 step")
    over = dashboard_view.budget(summary(NOW, tokens_used=500_000, token_limit=None))
    assert (over.tokens, over.percent, over.tone) == ("500,000", None, "ok")
    assert dashboard_view.budget(summary(NOW, tokens_used=500_000)).tone == "over"


@pytest.mark.parametrize(
    ("phase", "label", "tone"),
    [
        ("await_ci", "waiting for CI", "waiting"),
        ("asked", "asking a person", "waiting"),
        ("ready", "ready for review", "good"),
        ("failed", "failed", "bad"),
        ("something_new", "something new", "idle"),
    ],
)
def test_phases_have_words_and_colours(phase: str, label: str, tone: str) -> None:
    assert dashboard_view.phase(phase) == (label, tone)


def test_the_tree_indents_under_dependencies_and_survives_a_cycle() -> None:
    nodes = [
        {"id": "A", "title": "a", "status": "done"},
        {"id": "B", "title": "b", "status": "in_progress", "depends_on": ["A"]},
        {"id": "C", "title": "c", "depends_on": ["B", "A"]},
        {"id": "D", "title": "d", "depends_on": ["C"]},
        {"id": "E", "title": "e", "depends_on": ["D"]},
        {"id": "X", "title": "x", "status": "weird", "depends_on": ["Y", "nowhere"]},
        {"id": "Y", "title": "y", "status": "blocked", "depends_on": ["X"]},
    ]
    shown = dashboard_view.tree(nodes)
    # E would be 4 deep: drawn at the deepest level. X and Y stop where the cycle closes.
    assert [(n.id, n.depth) for n in shown] == [
        ("A", 0),
        ("B", 1),
        ("C", 2),
        ("D", 3),
        ("E", 3),
        ("X", 1),
        ("Y", 0),
    ]
    assert [(n.status, n.label) for n in shown[:3]] == [
        ("done", "done"),
        ("in_progress", "in progress"),
        ("pending", "pending"),
    ]
    assert shown[2].after == "B, A"
    assert (shown[5].status, shown[6].status) == ("pending", "blocked")


def test_links_go_to_the_issue_the_pull_request_the_branch_and_commits() -> None:
    head = dashboard_view.run_head(summary(NOW), NOW)
    assert [(link.label, link.href) for link in head.links] == [
        ("Issue #3", ISSUE_URL),
        ("Pull request #7", "https://github.example/alice/hello/pull/7"),
        (
            "Branch pilot/issue-3-validate-the-repository-config",
            "https://github.example/alice/hello/tree/pilot/issue-3-validate-the-repository-config",
        ),
    ]
    first, second = head.ci
    assert (first.sha, first.failing, first.names, first.tone) == (
        "a1b2c3d",
        2,
        "lint, test (3.11)",
        "bad",
    )
    assert first.href == "https://github.example/alice/hello/commit/a1b2c3d4e5f6a7b8"
    assert (second.names, second.tone) == ("all checks passed", "good")
    assert head.done == "1 of 3 done" and head.started == "6 min ago"


def test_unsafe_or_unknown_urls_give_no_links() -> None:
    head = dashboard_view.run_head(
        summary(NOW, pr_url="javascript:alert(1)", issue_url="javascript:x//issues/3"), NOW
    )
    assert head.links == [] and all(c.href is None for c in head.ci)


def test_a_step_shows_its_commands_paths_and_outputs() -> None:
    raw = feed_event(step("R1", 4, "pytest -q", "1 failed", 3600.0))
    assert raw is not None
    shown = dashboard_timeline.event(12, raw)
    assert (shown.number, shown.kind, shown.time, shown.node) == (12, "step", "01:00:00", "R1")
    assert shown.title == "Step 4" and shown.meta == "1.2 s · 960 tokens"
    run, write = shown.actions
    assert (run.tool, run.target, run.output) == ("run_command", "$ pytest -q", "1 failed")
    assert (write.target, write.detail) == ("pilot/config.py", "6 bytes")


def test_a_plan_that_is_the_issue_itself_says_so() -> None:
    raw = feed_event({"ts": NOW, "kind": "plan", "attempt": 0, "from_issue": True, "seconds": 0})
    assert raw is not None and raw["from_issue"] is True
    shown = dashboard_timeline.event(1, raw)
    assert (shown.title, shown.tone, shown.text) == (
        "Plan: the issue itself, as one requirement",
        "",
        "",
    )


@pytest.mark.parametrize(
    ("raw", "title", "tone", "text"),
    [
        (
            {"kind": "plan", "attempt": 2, "ms": 300, "problems": ["no id"], "submitted": True},
            "Plan submitted",
            "bad",
            "• no id",
        ),
        (
            {"kind": "node_end", "node": "R1", "outcome": "error", "error": "Boom()", "steps": 3},
            "Ended: error",
            "bad",
            "Boom()",
        ),
        (
            {"kind": "ci", "sha": "abcdef123456", "state": "red", "failing": ["lint", "test"]},
            "CI on abcdef1: red",
            "bad",
            "lint, test",
        ),
        (
            {"kind": "ci", "sha": "abcdef1", "state": "green", "failing": []},
            "CI on abcdef1: green",
            "good",
            "",
        ),
        ({"kind": "timing", "phase": "push", "ms": 1520.0}, "push took 1.5 s", "muted", ""),
        ({"kind": "outcome", "outcome": "success"}, "Outcome: success", "good", ""),
        (
            {
                "kind": "test_guard",
                "sha": "abcdef123",
                "waiting": 1,
                "findings": [{"kind": "tests_removed", "detail": "test_a removed from t.py"}],
            },
            "Tests weakened: 1 for a person",
            "bad",
            "• test_a removed from t.py",
        ),
        ({"kind": "test_guard", "waiting": 0, "findings": []}, "Tests kept", "good", ""),
        (
            {"kind": "draft", "draft": 2, "verdict": "kept", "changed": ["m.py: f", "n.py: g"]},
            "Draft 2",
            "good",
            "kept\nm.py: f, n.py: g",
        ),
        (
            {"kind": "draft", "draft": 1, "verdict": "tests still fail: exit code 1"},
            "Draft 1",
            "muted",
            "tests still fail: exit code 1",
        ),
        (
            {"kind": "draft", "skipped": "the tests already pass"},
            "No drafts",
            "muted",
            "the tests already pass",
        ),
    ],
)
def test_other_events_have_a_line_each(
    raw: dict[str, object], title: str, tone: str, text: str
) -> None:
    shown = dashboard_timeline.event(0, raw)
    assert (shown.title, shown.tone, shown.text) == (title, tone, text)
