"""Issue 13 (h), end to end on ghsim with the scripted model: a 12,000-character Japanese answer
and an 80-comment review in Japanese keep the status comment under GitHub's 65,536 characters
(under the bot's own 60,000), so every save goes through and the run reaches its end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.github.status_comment import MARKER, MAX_STATUS_CHARS
from tests.ghsim_support import wait_until
from tests.run.test_ci_loop_on_ghsim import CALC_DOCUMENTED, CALC_FIXED, PLAN, Repo, call, write
from tests.stack_support import Stack

# 12,000 characters: escaped as JSON escapes by default, 72,000, over GitHub's 65,536 alone.
ANSWER = "加算には演算子プラスを使ってください。" * 632
REVIEW_COMMENT = "モジュールの説明を書いてください。--> <!-- " * 70  # about 2,000 characters


def status_lengths(repo: Repo, seen: list[int]) -> int:
    """The status comment's length now, also kept in `seen`."""
    for comment in repo.comments(repo.number):
        if comment.user.login.endswith("[bot]") and MARKER in (comment.body or ""):
            seen.append(len(comment.body or ""))
            return seen[-1]
    return 0


def test_h_a_long_cjk_answer_and_an_80_comment_review_keep_the_status_comment_small(
    stack: Stack, tmp_path: Path
) -> None:
    stack.model.set_script(
        [PLAN, call("ask_human", question="Which operator?"), *write(CALC_FIXED),
         *write(CALC_DOCUMENTED, "docstring added")]
    )  # fmt: skip
    repo = Repo(stack, tmp_path)
    repo.label()
    repo.wait_phase("asked", timeout=90)
    repo.comment(repo.number, ANSWER)
    first = repo.wait_phase("ready", timeout=180)
    seen: list[int] = []
    status_lengths(repo, seen)
    answered = [r for r in stack.model.requests() if ANSWER in json.dumps(r, ensure_ascii=False)]
    assert answered, "the whole answer reached the agent in its session"
    [kept] = first["answers"]["R1"]
    assert kept.startswith("A person answered: 加算") and "characters cut" in kept
    assert len(json.dumps(ANSWER)) > 65_536

    pr = repo.pull()
    repo.alice.rest.pulls.create_review(
        "alice",
        repo.name,
        pr.number,
        event="REQUEST_CHANGES",
        body="レビューです。" * 100,
        comments=[
            {"path": "calc.py", "line": 1 + n % 2, "body": f"{n}: {REVIEW_COMMENT}"}
            for n in range(80)
        ],
    )
    wait_until(
        lambda: (
            status_lengths(repo, seen)
            and repo.state().get("phase") == "ready"
            and repo.state().get("head_sha") != first["head_sha"]
        ),
        300,
        f"the review to be addressed and CI to pass again (log: {stack.tmp})",
        interval_s=1.0,
    )
    assert repo.file("calc.py", repo.pull().head.ref) == CALC_DOCUMENTED
    asked = json.dumps(stack.model.requests()[-2], ensure_ascii=False)
    assert "79: モジュールの説明" in asked, "every line comment reached the agent whole"
    replies = 0
    for page in (1, 2):
        listed = repo.alice.rest.pulls.list_review_comments(
            "alice", repo.name, pr.number, per_page=100, page=page
        )
        # githubkit's generated `list` annotation is opaque to mypy.
        comments: Any = listed.parsed_data
        replies += len([c for c in comments if c.user.login.endswith("[bot]")])
    assert replies == 80
    print(f"\nscenario (h): status comment lengths seen: max {max(seen):,}, last {seen[-1]:,}")
    assert max(seen) <= MAX_STATUS_CHARS < 65_536
    assert "too long" not in stack.log_text("worker")
