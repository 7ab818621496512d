"""VERIFY that cannot be fooled, end to end on ghsim: jobs that wait on `needs:`, a matrix,
jobs that all skip, a workflow file GitHub refuses, and workflow runs held for a
maintainer's approval."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.ghsim_support import push_files, unique, wait_until
from tests.run.test_ci_loop_on_ghsim import (
    CALC_BUG,
    CALC_FIXED,
    CALC_STILL_WRONG,
    PLAN,
    TEST_CALC,
    Repo,
    write,
)
from tests.stack_support import Stack

NEEDS = """\
name: CI
on: push
jobs:
  lint:
    runs-on: ubuntu-latest
    steps: [{run: "sleep 2 && echo lint"}]
  build:
    runs-on: ubuntu-latest
    needs: lint
    steps: [{run: "sleep 2 && echo build"}]
  test:
    runs-on: ubuntu-latest
    needs: build
    steps:
      - uses: actions/checkout@v4
      - run: python3 -m unittest discover -v
"""
MATRIX = """\
name: CI
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        mode: [plain, strict]
    steps:
      - uses: actions/checkout@v4
      - run: echo true
        if: matrix.mode == 'plain'
      - run: python3 -m unittest discover -v
        if: matrix.mode == 'strict'
"""
SKIPPED = """\
name: CI
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    if: github.event_name == 'release'
    steps: [{run: "exit 1"}]
"""
# No `runs-on`: GitHub refuses the file, and each push gets a failed run with no jobs.
REFUSED = """\
name: CI
on: push
jobs:
  test:
    steps:
      - run: python3 -m unittest discover -v
"""
QUICK = """\
name: CI
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python3 -m unittest discover -v
"""


class GraphRepo(Repo):
    def __init__(
        self, stack: Stack, tmp: Path, workflow: str, config: str = "", held: bool = False
    ) -> None:
        self.stack = stack
        self.alice = stack.sim.person("alice")
        self.name = unique("calc")
        self.alice.rest.repos.create_for_authenticated_user(name=self.name, auto_init=True)
        if held:
            api = stack.sim.api_url.rstrip("/")
            answer = httpx.put(
                f"{api}/_ghsim/repos/alice/{self.name}/actions/approval",
                json={"required": True},
                headers={"Authorization": "token ghp_sim_alice"},
            )
            assert answer.status_code == 204
        files = {"calc.py": CALC_BUG, "test_calc.py": TEST_CALC}
        files[".github/workflows/ci.yml"] = workflow
        if config:
            files[".github/pilot.yml"] = config
        push_files(stack.sim, f"alice/{self.name}", "ghp_sim_alice", "main", files, tmp)
        issue = self.alice.rest.issues.create(
            "alice", self.name, title="add() subtracts", body="add(2, 3) gives -1."
        ).parsed_data
        self.number = issue.number


def test_needs_the_bot_waits_for_the_last_job_and_fixes_it(stack: Stack, tmp_path: Path) -> None:
    stack.model.set_script([PLAN, *write(CALC_STILL_WRONG), *write(CALC_FIXED, "fixed")])
    repo = GraphRepo(stack, tmp_path, NEEDS)
    repo.label()
    state = repo.wait_phase("ready", timeout=300)
    # Never ready early: the first head was judged red only after `test`, the last job, ran
    # (its check run did not exist while `lint` and `build` completed).
    assert state["ci_attempt"] == 2
    assert [(h["failing"], h["names"]) for h in state["ci_history"]] == [(1, ["test"]), (0, [])]
    pr = repo.pull()
    assert repo.file("calc.py", pr.head.ref) == CALC_FIXED
    assert len([b for b in repo.bot_comments(pr.number) if "ready for review" in b]) == 1


def test_a_matrix_with_one_red_cell_is_fixed(stack: Stack, tmp_path: Path) -> None:
    stack.model.set_script([PLAN, *write(CALC_STILL_WRONG), *write(CALC_FIXED, "fixed")])
    repo = GraphRepo(stack, tmp_path, MATRIX)
    repo.label()
    state = repo.wait_phase("ready", timeout=300)
    assert state["ci_history"][0]["names"] == ["test (strict)"]
    assert state["ci_history"][-1]["failing"] == 0
    assert repo.file("calc.py", repo.pull().head.ref) == CALC_FIXED


def test_all_jobs_skipped_is_no_ci_and_the_sandbox_tests(stack: Stack, tmp_path: Path) -> None:
    stack.model.set_script([PLAN, *write(CALC_FIXED, "fixed")])
    repo = GraphRepo(stack, tmp_path, SKIPPED, "test: python3 -m unittest discover -v\n")
    repo.label()
    started = time.monotonic()
    state = repo.wait_phase("ready", "asked", "failed", timeout=200)
    assert state["phase"] == "ready"
    assert time.monotonic() - started < 200  # well before the 300 s CI time-out
    [ready] = [b for b in repo.bot_comments(repo.pull().number) if "ready for review" in b]
    assert "CI skipped every job" in ready and "the sandbox ran" in ready


def test_a_refused_workflow_file_is_no_ci_and_costs_no_fix(stack: Stack, tmp_path: Path) -> None:
    # One plan and one edit: a fix attempt spent on the refused file would find no script.
    stack.model.set_script([PLAN, *write(CALC_FIXED, "fixed")])
    repo = GraphRepo(stack, tmp_path, REFUSED, "test: python3 -m unittest discover -v\n")
    repo.label()
    state = repo.wait_phase("ready", "asked", "failed", timeout=200)
    assert state["phase"] == "ready"
    assert not state.get("ci_history")  # nothing judged red, so no attempt was spent
    pr = repo.pull()
    [run] = repo.alice.rest.actions.list_workflow_runs_for_repo(
        "alice", repo.name, head_sha=pr.head.sha
    ).parsed_data.workflow_runs
    assert (run.name, run.conclusion) == (".github/workflows/ci.yml", "failure")
    [ready] = [b for b in repo.bot_comments(pr.number) if "ready for review" in b]
    assert "`.github/workflows/ci.yml` failed before any job ran" in ready
    assert "the sandbox ran `python3 -m unittest discover -v` instead and it passed" in ready
    assert repo.file("calc.py", pr.head.ref) == CALC_FIXED


def test_runs_held_for_approval_ask_once_spend_nothing_and_resume(
    stack: Stack, tmp_path: Path
) -> None:
    stack.model.set_script([PLAN, *write(CALC_FIXED, "fixed")])
    repo = GraphRepo(stack, tmp_path, QUICK, held=True)
    repo.label()

    def asked() -> list[str]:
        if not repo.alice.rest.pulls.list("alice", repo.name).parsed_data:
            return []
        return [b for b in repo.bot_comments(repo.pull().number) if "approve" in b]

    wait_until(asked, 150, "the question about approving the workflows")
    state = repo.state()
    assert state["phase"] == "await_ci" and state["ci_attempt"] == 1
    time.sleep(3)
    assert len(asked()) == 1
    gh = repo.alice
    head = repo.pull().head.sha
    runs = gh.rest.actions.list_workflow_runs_for_repo("alice", repo.name, head_sha=head)
    [held] = runs.parsed_data.workflow_runs
    assert held.conclusion == "action_required"
    gh.rest.actions.approve_workflow_run("alice", repo.name, held.id)
    state = repo.wait_phase("ready", timeout=150)
    assert state["ci_attempt"] == 1 and state["ci_history"][-1]["failing"] == 0
    assert len(asked()) == 1
