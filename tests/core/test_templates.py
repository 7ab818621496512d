from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from bot.agent.requirements import Requirement
from bot.core.templates import PROMPTS_DIR, render
from bot.github.api import Comment
from bot.github.status_comment import find_status_comment, parse_state, render_status

SAMPLE_CONTEXT: dict[str, dict[str, Any]] = {
    "comments/help.md.j2": {"unknown": None, "prefix": "/pilot", "label": "pilot"},
    "comments/permission_denied.md.j2": {
        "user": "octocat",
        "repo": "o/r",
        "verb": "start",
        "label": "pilot",
        "prefix": "/pilot",
    },
    "comments/status.md.j2": {
        "headline": "Queued.",
        "state_json": "{}",
        "checklist": "- [ ] **R1** a",
        "facts": ["Asked by @a."],
    },
    "comments/run_question.md.j2": {
        "requested_by": "alice",
        "node_id": "R1",
        "node_title": "Add it",
        "reason": "The agent asked.",
        "question": "Which?\nThis or that?",
        "prefix": "/pilot",
    },
    "comments/run_failed.md.j2": {
        "requested_by": "alice",
        "reason": "the model could not be reached",
        "detail": "HTTP 500",
        "branch": "pilot/issue-1-x",
        "prefix": "/pilot",
    },
    "comments/state_unreadable.md.j2": {
        "requested_by": "alice",
        "kept": "the branch `pilot/issue-1-x`, pull request #2",
        "branch": "pilot/issue-1-x",
        "prefix": "/pilot",
    },
    "comments/config_invalid.md.j2": {
        "requested_by": "alice",
        "branch": "main",
        "problems": ["line 3, `max_steps`: too big"],
        "prefix": "/pilot",
    },
    "comments/run_held.md.j2": {
        "requested_by": "alice",
        "why": "written in part by @mallory, without write access",
        "ref": "refs/pilot/1",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "branch": "pilot/issue-1-x",
        "base": "main",
        "text": "abc1234 Add it\n+```\n",
        "cut": True,
        "total": 90000,
        "shown": 50000,
        "prefix": "/pilot",
    },
    "comments/ci_approval.md.j2": {
        "requested_by": "alice",
        "sha": "abc1234",
        "workflows": "`CI`",
    },
    "comments/run_ready.md.j2": {
        "requested_by": "alice",
        "how": "CI passed on `abc1234`: test",
        "attempts": 2,
        "tokens": 1234,
    },
    "pull_request/body.md.j2": {
        "summary": "Did it.",
        "checklist": "- [x] **R1** a",
        "check": None,
        "tokens": 1200,
        "token_limit": 400000,
        "steps": 4,
        "issue": 3,
        "requested_by": "alice",
        "setup": {"ran": False, "sources": "requirements.txt", "config": "setup:\n- make deps"},
    },
    "comments/run_not_here.md.j2": {"on_pull_request": True, "prefix": "/p", "label": "p"},
    "comments/issue_edited.md.j2": {
        "requested_by": "alice",
        "what": "body",
        "editor": "mallory",
        "hidden": 2,
        "diff": "-old\n+new",
        "prefix": "/pilot",
    },
    "planner/system.md.j2": {"max_nodes": 20},
    "planner/task.md.j2": {
        "number": 7,
        "title": "Add --version",
        "body": "Print the version.",
        "repo_map": "cli.py",
        "issue_fence": "```",
        "map_fence": "```",
        "max_nodes": 20,
        "files": [("cli.py", "1| import argparse")],
        "instructions": "",
    },
    "planner/feedback.md.j2": {"reasons": ["the plan is empty"], "attempts_left": 2},
    "agent/system.md.j2": {"workspace": "/workspace", "forced": True, "workflows_read_only": True},
    "agent/task.md.j2": {
        "issue_number": 7,
        "issue_title": "Add --version",
        "issue_body": "Print the version.",
        "node": {"id": "R1", "title": "Flag", "description": "Add it.", "acceptance": ["works"]},
        "tree": "- [ ] R1: Flag (pending)",
        "repo_map": "cli.py",
        "setup_commands": ["pip install -e ."],
        "test_command": "pytest -q",
        "notes": ["CI failed: test_x"],
        "instructions": "Run `make test` before you finish.",
        "earlier": ["R0: Parse the flag\n+ parser.add_argument('--version')"],
        "branch_diff": "+ print(version)",
        "files": [("cli.py", "1| import argparse")],
    },
    "agent/finish_refused.md.j2": {
        "reason": "tests",
        "command": "pytest -q",
        "output": "exit code 1\nFAILED test_x",
        "diff": "+ x = 1",
        "findings": ["test_x removed from tests/test_cli.py"],
    },
    "agent/nudge.md.j2": {"tool": "edit_file", "failed": True},
    "agent/malformed.md.j2": {"error": "bad JSON", "tool_names": ["finish"]},
    "agent/docs_writer.md.j2": {},
    "agent/draft_system.md.j2": {},
    "agent/draft_again.md.j2": {"output": "exit code 1\nFAIL: test_half"},
    "agent/draft.md.j2": {
        "issue_number": 3,
        "issue_title": "Progress stuck",
        "issue_body": "percent(1, 2) is 0",
        "node": Requirement("R1", "Fix percent", "Divide as floats.", ["50.0"], []),
        "part_of_plan": True,
        "instructions": "Keep it small.",
        "files": [("pkg/progress.py", "def percent(done, total):\n    return done // total\n")],
        "command": "pytest -q",
        "output": "exit code 1\nFAILED test_half",
        "example": "pkg/progress.py",
        "called": [("percent", "pkg/progress.py"), ("bar", "pkg/bar.py")],
    },
    "comments/tests_weakened.md.j2": {
        "sha": "abc1234",
        "findings": ["test_a removed from tests/test_x.py", "fewer tests ran: 2 before, 0 after"],
        "more": 1,
        "before": "2 ran",
        "after": "0 ran",
        "prefix": "/pilot",
    },
    "comments/ci_triage.md.j2": {
        "sha": "abc1234",
        "pre_existing": "`lint`",
        "flaky": "`test`",
        "ours": "",
        "base": "main",
        "base_sha": "def5678",
    },
    "demo/issue.md.j2": {},
}


def test_every_template_renders() -> None:
    names = sorted(str(p.relative_to(PROMPTS_DIR)) for p in PROMPTS_DIR.rglob("*.j2"))
    assert names == sorted(SAMPLE_CONTEXT)
    for name in names:
        assert render(name, **SAMPLE_CONTEXT[name]).strip()


def test_missing_variables_fail_loudly() -> None:
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        render("comments/help.md.j2", prefix="/pilot")


def test_state_round_trips_through_the_comment() -> None:
    state = {"phase": "queued", "note": "a -- b --> c"}
    body = render_status("Queued.", state)
    assert parse_state(body) == state
    assert body.count("-->") == 1


def test_status_comment_is_the_bots_own() -> None:
    body = render_status("Queued.", {"phase": "queued"})
    quoted = Comment(1, f"> {body}", "octocat", "")
    other_bot = Comment(2, body, "github-actions[bot]", "")
    mine = Comment(3, body, "issue-pilot[bot]", "")
    assert find_status_comment([quoted, other_bot, mine], "issue-pilot[bot]") == mine
    assert find_status_comment([quoted, other_bot], "issue-pilot[bot]") is None


def test_bot_and_handlers_never_import_ghsim() -> None:
    root = Path(__file__).resolve().parents[2]
    for package in ("bot", "handlers"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                assert not any(n.split(".")[0] == "ghsim" for n in names), path
