"""A labeled issue becomes a draft pull request, end to end: ghsim delivers the label to
`issue-pilot serve`, the worker plans and codes with the scripted model inside a real
container, commits per requirement, pushes over git HTTP and opens the PR."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from bot.github.status_comment import parse_state
from bot.run.state import run_dir_name
from tests.ghsim_support import push_files, unique, wait_until
from tests.stack_support import Stack, docker_client, leftovers

PROJECT = {
    "README.md": "# greeter\n",
    ".github/pilot.yml": "test: python3 -m unittest discover -q\nmax_steps: 8\n",
}

GREET = 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'
TEST_GREET = (
    "import unittest\n\nfrom greet import greet\n\n\n"
    "class GreetTest(unittest.TestCase):\n"
    "    def test_greet(self) -> None:\n"
    '        self.assertEqual(greet("Ada"), "Hello, Ada!")\n'
)
CLI = "import sys\n\nfrom greet import greet\n\nprint(greet(sys.argv[1]))\n"


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


# Two requirements with code of their own: a tests-only one would be folded into R1 by the plan.
PLAN = call(
    "submit_plan",
    requirements=[
        {
            "id": "R1",
            "title": "Add greet()",
            "description": "A greet function in greet.py, with a unittest.",
            "acceptance": ["greet('Ada') returns 'Hello, Ada!'", "python3 -m unittest passes"],
            "depends_on": [],
        },
        {
            "id": "R2",
            "title": "Greet from the command line",
            "description": "cli.py greets the name it is given.",
            "acceptance": ["python3 cli.py Ada prints 'Hello, Ada!'"],
            "depends_on": ["R1"],
        },
    ],
)
R1_STEPS = [
    call("write_file", path="greet.py", content=GREET),
    call("write_file", path="test_greet.py", content=TEST_GREET),
    call("finish", summary="greet() added and tested."),
]
R2_STEPS = [
    call("write_file", path="cli.py", content=CLI),
    call("run_command", command="python3 cli.py Ada"),
    call("finish", summary="cli.py greets its argument."),
]


def new_repo(stack: Stack, tmp: Path) -> tuple[Any, str, int]:
    alice = stack.sim.person("alice")
    name = unique("greeter")
    alice.rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    push_files(stack.sim, f"alice/{name}", "ghp_sim_alice", "main", PROJECT, tmp)
    issue = alice.rest.issues.create(
        "alice", name, title="Greet people by name", body="We need a greet(name) function."
    ).parsed_data
    return alice, name, issue.number


def pulls(person: Any, name: str) -> list[Any]:
    return list(person.rest.pulls.list("alice", name, state="all").parsed_data)


def status_state(person: Any, name: str, number: int) -> dict[str, Any] | None:
    for c in person.rest.issues.list_comments("alice", name, number).parsed_data:
        if c.user.login.endswith("[bot]") and "pilot:state" in (c.body or ""):
            return parse_state(c.body or "")
    return None


def pull_commits(person: Any, name: str, number: int) -> list[Any]:
    """Oldest first, as GitHub lists a pull request's commits."""
    return list(person.rest.pulls.list_commits("alice", name, number).parsed_data)


def file_text(person: Any, name: str, path: str, ref: str) -> str:
    content = person.rest.repos.get_content("alice", name, path, ref=ref).parsed_data
    return base64.b64decode(content.content).decode()


def check_finished_run(stack: Stack, alice: Any, name: str, number: int) -> Any:
    [pr] = pulls(alice, name)
    assert pr.draft is True
    assert f"Closes #{number}" in (pr.body or "")
    assert pr.head.ref.startswith(f"pilot/issue-{number}-greet-people")
    assert "- [x] **R1**" in (pr.body or "") and "- [x] **R2**" in (pr.body or "")
    state = status_state(alice, name, number)
    assert state is not None and state["phase"] == "await_ci"
    assert state["pr_number"] == pr.number
    assert state["check"]["exit_code"] == 0
    commits = pull_commits(alice, name, pr.number)
    ours = [c for c in commits if "Pilot-Node:" in c.commit.message]
    assert [c.commit.message.rsplit("Pilot-Node: ", 1)[1].strip() for c in ours] == ["R1", "R2"]
    for c in ours:
        assert f"Pilot-Issue: #{number}" in c.commit.message
        assert c.commit.author.name.endswith("[bot]")
    assert file_text(alice, name, "greet.py", pr.head.ref) == GREET
    assert file_text(alice, name, "test_greet.py", pr.head.ref) == TEST_GREET
    assert file_text(alice, name, "cli.py", pr.head.ref) == CLI
    bot_comments = [
        c
        for c in alice.rest.issues.list_comments("alice", name, number).parsed_data
        if c.user.login.endswith("[bot]")
    ]
    assert len(bot_comments) == 1, [c.body for c in bot_comments]
    assert pr.html_url in (bot_comments[0].body or "")
    return pr


def test_label_to_draft_pull_request(stack: Stack, tmp_path: Path) -> None:
    stack.model.set_script([PLAN, *R1_STEPS, *R2_STEPS])
    alice, name, number = new_repo(stack, tmp_path)
    alice.rest.issues.add_labels("alice", name, number, labels=["pilot"])

    wait_until(lambda: pulls(alice, name), 90, "the draft pull request")
    wait_until(
        lambda: (status_state(alice, name, number) or {}).get("phase") == "await_ci",
        20,
        "the status comment to rest",
    )
    check_finished_run(stack, alice, name, number)

    client = docker_client()
    run_label = run_dir_name(f"alice/{name}", number)
    wait_until(lambda: not leftovers(client, run_label), 20, "the sandbox to be removed")
    trajectory = stack.runs_dir / run_label / "trajectory.jsonl"
    records = [json.loads(line) for line in trajectory.read_text().splitlines()]
    assert len(records) >= 7
    assert len(stack.model.requests()) == 7


def test_a_worker_killed_mid_run_resumes_with_one_pull_request(
    stack: Stack, tmp_path: Path
) -> None:
    # R2's first answer never comes back to the first worker: it is killed while waiting.
    slow = {**R2_STEPS[0], "delay_s": 60}
    stack.model.set_script([PLAN, *R1_STEPS, slow, *R2_STEPS])
    alice, name, number = new_repo(stack, tmp_path)
    alice.rest.issues.add_labels("alice", name, number, labels=["pilot"])

    wait_until(lambda: len(stack.model.requests()) >= 5, 90, "the agent to start on R2")

    def r2_shown() -> dict[str, Any] | None:
        state = status_state(alice, name, number)
        tree = [n["status"] for n in (state or {}).get("tree", [])]
        return state if tree == ["done", "in_progress"] else None

    # Status edits are coalesced (PILOT_STATUS_EDIT_INTERVAL_S, 5 s): the held-back one is
    # written within the interval, so a worker killed now loses nothing that matters.
    state = wait_until(r2_shown, 10, "the status comment to show R2 in progress")
    assert state["phase"] == "execute"
    head = alice.rest.repos.get_branch("alice", name, state["branch"]).parsed_data
    assert "Pilot-Node: R1" in head.commit.commit.message
    stack.kill_worker()
    started = time.monotonic()
    stack.start_worker()

    wait_until(lambda: pulls(alice, name), 90, "the resumed run's pull request")
    wait_until(
        lambda: (status_state(alice, name, number) or {}).get("phase") == "await_ci",
        20,
        "the status comment to rest",
    )
    resumed_s = time.monotonic() - started
    check_finished_run(stack, alice, name, number)
    client = docker_client()
    run_label = run_dir_name(f"alice/{name}", number)
    wait_until(lambda: not leftovers(client, run_label), 40, "the killed run's sandbox reaped")
    assert resumed_s < 60
