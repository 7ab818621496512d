"""GitHub refusing edits of comments for a minute, end to end (issue 13, test g): ghsim answers
every PATCH of a comment 502 for 60 s (its API fault mode) while a run works. The run fails with
a comment saying what failed, posted while edits still fail; once edits work again the status
comment says FAILED, and `/pilot retry` resumes the run to its pull request."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from bot.github.status_comment import parse_state
from tests.ghsim_support import push_files, unique, wait_until
from tests.stack_support import Stack

OUTAGE_S = 60
PROJECT = {"README.md": "# greeter\n"}
GREET = 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


PLAN = call(
    "submit_plan",
    requirements=[
        {
            "id": "R1",
            "title": "Add greet()",
            "description": "A greet function in greet.py.",
            "acceptance": ["greet('Ada') returns 'Hello, Ada!'"],
            "depends_on": [],
        }
    ],
)
R1_STEPS = [call("write_file", path="greet.py", content=GREET), call("finish", summary="Done.")]


def bot_comments(person: Any, name: str, number: int) -> list[str]:
    return [
        c.body or ""
        for c in person.rest.issues.list_comments("alice", name, number).parsed_data
        if c.user.login.endswith("[bot]")
    ]


def status_state(person: Any, name: str, number: int) -> dict[str, Any]:
    for body in bot_comments(person, name, number):
        if "pilot:state" in body:
            return parse_state(body) or {}
    return {}


def failure_notes(person: Any, name: str, number: int) -> list[str]:
    return [b for b in bot_comments(person, name, number) if "pilot:note failed-" in b]


def test_edits_failing_for_a_minute_fail_the_run_with_a_comment_and_retry_resumes(
    stack: Stack, tmp_path: Path
) -> None:
    stack.model.set_script([PLAN, *R1_STEPS])
    alice = stack.sim.person("alice")
    name = unique("outage")
    alice.rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    push_files(stack.sim, f"alice/{name}", "ghp_sim_alice", "main", PROJECT, tmp_path)
    number = alice.rest.issues.create(
        "alice", name, title="Greet people by name", body="We need a greet(name) function."
    ).parsed_data.number
    rule = {"method": "PATCH", "path": r"/repos/.+/issues/comments/\d+", "status": 502}
    added = httpx.post(
        f"{stack.sim.api_url}_ghsim/faults/api", json={**rule, "seconds": OUTAGE_S}, timeout=10
    )
    assert added.status_code == 201, added.text
    began = time.monotonic()

    alice.rest.issues.add_labels("alice", name, number, labels=["pilot"])

    # Comments are POSTs: the failure is told while every edit of the status comment fails.
    [note] = wait_until(lambda: failure_notes(alice, name, number), OUTAGE_S, "a failure note")
    assert time.monotonic() - began < OUTAGE_S
    assert "a GitHub request failed: PATCH /repos/alice/" in note
    assert "answered 502" in note and "Server Error" in note
    assert "/pilot retry` starts this phase again" in note
    assert "ghs_" not in note
    assert status_state(alice, name, number).get("phase") != "failed"  # not writable yet

    # After the outage the job, tried again, writes what it could not: the run is FAILED.
    state = wait_until(
        lambda: (s := status_state(alice, name, number)).get("phase") == "failed" and s,
        OUTAGE_S * 3,
        "the status comment to say failed",
    )
    assert "PATCH" in state["error"]
    assert stack.model.requests() == []  # it failed at its first save, before planning

    alice.rest.issues.create_comment("alice", name, number, body="/pilot retry")

    wait_until(
        lambda: status_state(alice, name, number).get("phase") == "await_ci",
        120,
        "the resumed run's pull request",
    )
    [pr] = alice.rest.pulls.list("alice", name, state="all").parsed_data
    assert f"Closes #{number}" in (pr.body or "")
    assert status_state(alice, name, number)["pr_number"] == pr.number
    assert "error" not in status_state(alice, name, number)
    assert len(failure_notes(alice, name, number)) == 1
    assert sum("pilot:state" in b for b in bot_comments(alice, name, number)) == 1
