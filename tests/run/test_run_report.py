"""What people read about a run: the status comment's headline, checklist and facts, and the PR."""

from __future__ import annotations

import pytest

from bot.agent.requirements import NodeStatus, RequirementTree
from bot.run.report import pull_request_body, pull_request_title, status_report
from bot.run.state import LocalCheck, Phase, RunState

STARTED = 1_000_000.0


def tree_state(**statuses: NodeStatus) -> list[dict[str, object]]:
    nodes = [
        {
            "id": node_id,
            "title": f"Do {node_id}",
            "description": f"{node_id} in full.",
            "acceptance": [f"{node_id} works"],
            "depends_on": [],
        }
        for node_id in statuses
    ]
    tree = RequirementTree.from_plan({"requirements": nodes})
    for node_id, status in statuses.items():
        tree.set_status(node_id, status)
    return tree.to_state()


def state(phase: Phase = Phase.EXECUTE, **values: object) -> RunState:
    run = RunState(7, "alice", phase=phase, started_at=STARTED)
    for key, value in values.items():
        setattr(run, key, value)
    return run


def facts(run: RunState, limit: int | None = 400_000, now: float = STARTED + 42.9) -> list[str]:
    return list(status_report(run, "/pilot", limit, now).facts)


@pytest.mark.parametrize(
    ("phase", "headline"),
    [
        (Phase.QUEUED, "Queued."),
        (Phase.PLAN, "Planning: turning the issue into a requirement tree."),
        (Phase.WAIT_APPROVAL, "The plan below waits for approval (`/bot approve`)."),
        (Phase.SETUP, "Setting up the workspace."),
        (Phase.EXECUTE, "Working on the requirements below."),
        (Phase.CHECK, "Running the repository's test command in the sandbox."),
        (Phase.PULL_REQUEST, "Opening the pull request."),
        (Phase.AWAIT_CI, "Draft pull request opened; waiting for the repository's CI."),
        (Phase.ASKED, "Waiting for an answer from a person (see the question below)."),
        (Phase.STOPPED, "Stopped."),
        (Phase.FAILED, "Stopped on an error."),
        (Phase.READY, "Done: the pull request is ready for review."),
        (Phase.MERGED, "The pull request was merged."),
        (Phase.CLOSED, "The pull request was closed without merging."),
    ],
)
def test_each_phase_has_its_headline(phase: Phase, headline: str) -> None:
    assert status_report(state(phase), "/bot", None, STARTED).headline == headline


def test_every_phase_is_covered() -> None:
    for phase in Phase:
        assert status_report(state(phase), "/pilot", None, STARTED).headline


def test_executing_names_the_node_in_progress() -> None:
    run = state(tree=tree_state(R1=NodeStatus.DONE, R2=NodeStatus.IN_PROGRESS))
    assert status_report(run, "/pilot", None, STARTED).headline == "Working on **R2**."


def test_a_failure_headline_says_why() -> None:
    run = state(Phase.FAILED, error="the model could not be reached")
    report = status_report(run, "/pilot", None, STARTED)
    assert report.headline == "Stopped on an error: the model could not be reached"


def test_a_parked_run_names_the_node_it_waits_on() -> None:
    run = state(Phase.ASKED, parked={"kind": "execute", "node": "R2", "title": "Do R2"})
    report = status_report(run, "/pilot", None, STARTED)
    assert report.headline == "Waiting for an answer from a person about **R2**."


def test_an_explicit_headline_wins() -> None:
    run = state(Phase.FAILED, error="boom")
    report = status_report(run, "/pilot", None, STARTED, headline="Stopped: by a person.")
    assert report.headline == "Stopped: by a person."


def test_ci_attempts_are_counted_against_their_budget() -> None:
    assert not any(f.startswith("CI attempt") for f in facts(state()))
    run = state(Phase.AWAIT_CI, ci_attempt=2)
    assert "CI attempt 2 of 3" in status_report(run, "/pilot", None, STARTED, ci_max=3).facts


def test_the_checklist_is_the_tree() -> None:
    run = state(tree=tree_state(R1=NodeStatus.DONE, R2=NodeStatus.BLOCKED))
    checklist = status_report(run, "/pilot", None, STARTED).checklist
    lines = checklist.splitlines()
    assert lines[0].startswith("- [x] **R1**")
    assert lines[1].startswith("- [ ] **R2**") and "blocked" in lines[1]
    assert status_report(state(), "/pilot", None, STARTED).checklist == ""


def test_facts_name_the_requester_first() -> None:
    assert facts(state())[0] == "Asked by @alice."


def test_the_pull_request_link_replaces_the_branch() -> None:
    branch = "pilot/issue-7-greet"
    with_branch = facts(state(branch=branch))
    assert f"Branch: `{branch}`" in with_branch
    url = "https://github.example/o/r/pull/12"
    with_pull = facts(state(branch=branch, pr_url=url, pr_number=12))
    assert f"Pull request: {url}" in with_pull
    assert not any(f.startswith("Branch:") for f in with_pull)
    assert not any(f.startswith(("Branch:", "Pull request:")) for f in facts(state()))


def test_tokens_are_shown_with_the_limit_once_any_are_used() -> None:
    assert not any(f.startswith("Tokens:") for f in facts(state()))
    run = state(prompt_tokens=1200, completion_tokens=34, steps=5)
    assert "Tokens: 1,234 of 400,000; agent steps: 5" in facts(run)
    assert "Tokens: 1,234; agent steps: 5" in facts(run, limit=None)


@pytest.mark.parametrize(
    ("check", "verdict"),
    [
        (LocalCheck("make test", 0, False, "ok"), "passed"),
        (LocalCheck("make test", 2, False, "1 failed"), "failed"),
        (LocalCheck("make test", None, True, ""), "failed"),
    ],
)
def test_the_local_check_verdict(check: LocalCheck, verdict: str) -> None:
    assert f"Local check `make test`: {verdict}" in facts(state(check=check))


@pytest.mark.parametrize("phase", [Phase.PLAN, Phase.EXECUTE, Phase.ASKED, Phase.FAILED])
def test_elapsed_time_while_the_run_is_active_or_stuck(phase: Phase) -> None:
    assert facts(state(phase))[-1] == "Elapsed: 42 s"


@pytest.mark.parametrize(
    "phase", [Phase.QUEUED, Phase.AWAIT_CI, Phase.READY, Phase.STOPPED, Phase.MERGED, Phase.CLOSED]
)
def test_no_elapsed_time_once_the_run_rests(phase: Phase) -> None:
    assert not any(f.startswith("Elapsed") for f in facts(state(phase)))


def test_pull_request_title() -> None:
    assert pull_request_title("  Greet people  ") == "Greet people"
    assert pull_request_title("   ") == "Pilot work"
    assert len(pull_request_title("x" * 500)) == 200


def body(run: RunState, limit: int | None = 400_000) -> str:
    return pull_request_body(run, "Issue Pilot's work on #7: Greet people", limit)


def test_pull_request_body_closes_the_issue_and_lists_the_tree() -> None:
    run = state(
        Phase.PULL_REQUEST,
        tree=tree_state(R1=NodeStatus.DONE, R2=NodeStatus.DONE),
        prompt_tokens=1000,
        completion_tokens=234,
        steps=6,
    )
    text = body(run)
    assert text.startswith("Issue Pilot's work on #7: Greet people")
    assert "Closes #7" in text
    assert "- [x] **R1** Do R1" in text and "- [x] **R2** Do R2" in text
    assert "Tokens: 1,234 of 400,000" in text
    assert "Agent steps: 6" in text
    assert "@alice" in text
    assert "No local test command is configured" in text
    assert "Tokens: 1,234\n" in body(run, limit=None)


def test_pull_request_body_shows_a_passing_check_without_output() -> None:
    run = state(check=LocalCheck("make test", 0, False, "all 12 passed"))
    text = body(run)
    assert "`make test` in the sandbox: passed" in text
    assert "all 12 passed" not in text
    assert "No local test command" not in text


def test_pull_request_body_shows_a_failing_checks_output() -> None:
    run = state(check=LocalCheck("make test", 2, False, "FAILED test_greet.py::test_hi"))
    text = body(run)
    assert "`make test` in the sandbox: failed with exit code 2" in text
    assert "FAILED test_greet.py::test_hi" in text
    assert "<details>" in text


def test_pull_request_body_shows_a_timed_out_check() -> None:
    run = state(check=LocalCheck("make test", None, True, "still running..."))
    text = body(run)
    assert "`make test` in the sandbox: timed out" in text
    assert "still running..." in text
