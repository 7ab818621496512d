"""Steered code is held, end to end on ghsim: an outsider's issue labelled by a writer gets its
commits on refs/pilot/<n> only (no workflow run, no pull request) and its diff posted; an
outsider's `approve` is refused; a writer's moves the reviewed commit to the branch, opens the
pull request, and CI runs on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ghsim_support import wait_until
from tests.run.test_ci_loop_on_ghsim import CALC_FIXED, PLAN, Repo, write
from tests.stack_support import Stack


class OutsidersIssue(Repo):
    """The calc repository of alice (admin), with an issue opened by bob, who has no role."""

    def __init__(self, stack: Stack, tmp: Path, config: str = "") -> None:
        super().__init__(stack, tmp, config)
        bob = stack.sim.person("bob")
        issue = bob.rest.issues.create(
            "alice", self.name, title="add() subtracts", body="add(2, 3) gives -1."
        ).parsed_data
        self.number = issue.number

    def runs_for(self, sha: str) -> list[Any]:
        data = self.alice.rest.actions.list_workflow_runs_for_repo(
            "alice", self.name, head_sha=sha
        ).parsed_data
        return list(data.workflow_runs)

    def pilot_branches(self) -> list[str]:
        found = self.alice.rest.repos.list_branches("alice", self.name).parsed_data
        return [b.name for b in found if b.name.startswith("pilot/")]


def test_an_outsiders_issue_is_held_until_a_writer_approves(stack: Stack, tmp_path: Path) -> None:
    stack.model.set_script([PLAN, *write(CALC_FIXED, "fixed")])
    repo = OutsidersIssue(stack, tmp_path)
    repo.label()

    state = repo.wait_phase("held", timeout=180)

    sha = state["hold"]["shown"]
    assert state["hold"]["outsiders"] == ["bob"] and state["head_sha"] == sha
    ref = repo.alice.rest.git.get_ref("alice", repo.name, f"pilot/{repo.number}").parsed_data
    assert ref.object_.sha == sha
    assert repo.pilot_branches() == []
    assert repo.alice.rest.pulls.list("alice", repo.name, state="all").parsed_data == []
    [review] = [b for b in repo.bot_comments(repo.number) if "held for review" in b]
    assert f"refs/pilot/{repo.number}" in review and "+    return a + b" in review
    assert "@\u200dbob" in review

    repo.comment(repo.number, "/pilot approve", who="bob")
    wait_until(
        lambda: any("@bob only people with write" in b for b in repo.bot_comments(repo.number)),
        60,
        "bob's approve refused",
    )
    assert repo.state()["phase"] == "held" and repo.pilot_branches() == []
    assert repo.runs_for(sha) == [], "no workflow ran on held work"

    repo.comment(repo.number, "/pilot approve")

    state = repo.wait_phase("ready", timeout=180)
    pr = repo.pull()
    assert pr.head.sha == sha and repo.pilot_branches() == [pr.head.ref]
    assert state["hold"]["state"] == "released" and state["hold"]["approved_by"] == "alice"
    assert repo.runs_for(sha), "CI ran once the work was approved"
    assert repo.file("calc.py", pr.head.ref) == CALC_FIXED
