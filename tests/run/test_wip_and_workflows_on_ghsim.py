"""GitHub's refusals the bot meets on real repositories, end to end on ghsim with the scripted
model: a private repository on a free plan has no drafts (a `[WIP] …` pull request instead,
its prefix dropped when ready), and workflow files an App may not push (refused at the tool,
and a change made anyway becomes a question, never a failed run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ghsim_support import push_files, unique
from tests.run.test_ci_loop_on_ghsim import (
    CALC_BUG,
    CALC_FIXED,
    PLAN,
    TEST_CALC,
    WORKFLOW,
    Repo,
    call,
    write,
)
from tests.stack_support import Stack

NEW_WORKFLOW = WORKFLOW.replace("on: push", "on: [push, pull_request]")
EDIT = "s/^on: push$/on: [push, pull_request]/"


class PrivateRepo(Repo):
    """The calc repository of the CI tests, private, its owner on GitHub's free plan."""

    def __init__(self, stack: Stack, tmp: Path, config: str = "", title: str = "") -> None:
        self.stack = stack
        self.alice = stack.sim.person("alice")
        self.name = unique("calc")
        self.alice.rest.repos.create_for_authenticated_user(
            name=self.name, auto_init=True, private=True
        )
        files = {
            "calc.py": CALC_BUG,
            "test_calc.py": TEST_CALC,
            ".github/workflows/ci.yml": WORKFLOW,
        }
        if config:
            files[".github/pilot.yml"] = config
        push_files(stack.sim, f"alice/{self.name}", "ghp_sim_alice", "main", files, tmp)
        issue = self.alice.rest.issues.create(
            "alice", self.name, title=title or "add() subtracts", body="add(2, 3) gives -1."
        ).parsed_data
        self.number = issue.number


def _tool_messages(stack: Stack) -> list[str]:
    """What the agent was told after each of its tool calls (the last request holds them all)."""
    last = stack.model.requests()[-1]
    return [m["content"] for m in last["messages"] if m.get("role") == "tool"]


def test_a_private_free_plan_repository_gets_a_wip_pull_request(
    stack: Stack, tmp_path: Path
) -> None:
    assert stack.sim.person("alice").rest.users.get_authenticated().parsed_data.plan.name == "free"
    stack.model.set_script([PLAN, *write(CALC_FIXED, "fixed")])
    repo = PrivateRepo(stack, tmp_path)
    repo.label()
    waiting = repo.wait_phase("await_ci", "ready", timeout=120)
    assert waiting["pr_wip"] is True or waiting["phase"] == "ready"
    state = repo.wait_phase("ready", timeout=180)
    pr = repo.pull()
    assert pr.draft is False and pr.title == "add() subtracts"
    assert "pr_wip" not in state
    deliveries = stack.sim.app().rest.apps.list_webhook_deliveries(per_page=100).parsed_data
    opened = [d for d in deliveries if (d.event, d.action) == ("pull_request", "opened")]
    titles = []
    for d in opened:
        payload = stack.sim.app().rest.apps.get_webhook_delivery(d.id).json()["request"]["payload"]
        if payload["repository"]["name"] == repo.name:
            titles.append(payload["pull_request"]["title"])
    assert titles == ["[WIP] add() subtracts"]
    ready = [b for b in repo.bot_comments(pr.number) if "ready for review" in b]
    assert len(ready) == 1


@pytest.mark.parametrize("config", ["", "workflows: allowed\n"])
def test_a_workflow_change_becomes_a_question(stack: Stack, tmp_path: Path, config: str) -> None:
    steps: list[dict[str, Any]] = [
        PLAN,
        call("write_file", path=".github/workflows/ci.yml", content=NEW_WORKFLOW),
        call("run_command", command=f"sed -i '{EDIT}' .github/workflows/ci.yml"),
        call("write_file", path="calc.py", content=CALC_FIXED),
        call("finish", summary="CI runs on pull requests too; add() fixed."),
    ]
    stack.model.set_script(steps)
    repo = Repo(stack, tmp_path, config)
    repo.label()
    state = repo.wait_phase("asked", "failed", timeout=180)
    assert state["phase"] == "asked", state
    assert state["parked"]["kind"] == "execute"
    said = _tool_messages(stack)
    refused_at_tool = [s for s in said if "read-only" in s and ".github/workflows/ci.yml" in s]
    assert len(refused_at_tool) == (0 if config else 1)
    [question] = [b for b in repo.bot_comments(repo.number) if "needs a person" in b]
    assert "`.github/workflows/ci.yml`" in question and "`workflows` permission" in question
    assert "/pilot continue" in question
    branches = repo.alice.rest.repos.list_branches("alice", repo.name).parsed_data
    for branch in branches:
        assert repo.file(".github/workflows/ci.yml", branch.name) == WORKFLOW
    assert repo.alice.rest.pulls.list("alice", repo.name, state="all").parsed_data == []
