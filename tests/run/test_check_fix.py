"""A local check that fails after the plan's requirements gets one fix before the pull request
opens, on the Controller with the scripted model: a `check-1` item in the same sandbox session,
committed and pushed, the check run again, and the PR opened whatever it says; never a second
fix, not after a restart either."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.agent.llm import OpenAICompatibleLLM
from bot.agent.requirements import RequirementTree
from bot.dev.scripted_model import ScriptedModel
from bot.run.state import Phase, RunState
from tests.run.test_carried_context import BRANCH_DIFF, first_task
from tests.run.test_controller import BRANCH, GREET, ISSUE, R1, Harness, harness
from tests.run_fakes import call, commits, file_at, git, plan_call

# check.py prints greet('Ada'): the check passes only for the greeting the issue asks for.
CONFIG = "test: \"python3 check.py | grep -q 'Hello, Ada!'\"\n"
HI = 'def greet(name: str) -> str:\n    return f"Hi, {name}"\n'
HELLO_NO_COMMA = 'def greet(name: str) -> str:\n    return f"Hello {name}"\n'


def write_greet(content: str, summary: str) -> list[dict[str, Any]]:
    """One agent pass that writes greet.py; with the test command failing, the finish gate
    refuses the first `finish` once and takes the second."""
    return [
        call("write_file", path="greet.py", content=content),
        call("finish", summary=summary),
        call("finish", summary=summary),
    ]


def nodes(h: Harness) -> list[str]:
    return [c["message"].rsplit("Pilot-Node: ", 1)[1].strip() for c in commits(h.remote, BRANCH)]


async def test_a_failing_check_gets_one_fix_pushed_before_the_pr_and_no_second(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [
        plan_call(R1),
        *write_greet(HI, "greet() added."),
        *write_greet(HELLO_NO_COMMA, "Greets with Hello now."),
    ]
    h = harness(tmp_path, model, llm, None, CONFIG, script)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert nodes(h) == ["R1", "check-1"]
    fix = commits(h.remote, BRANCH)[-1]
    assert file_at(h.remote, BRANCH, "greet.py") == HELLO_NO_COMMA
    # Pushed before the pull request opened, and CI awaited on it.
    [opening] = [s for s in h.host.saved if s["phase"] == "pull_request"]
    assert opening["head_sha"] == fix["sha"] and h.host.state["ci_sha"] == fix["sha"]
    # The check ran twice in the one session, the fix's work between them.
    assert h.sandboxes.sessions == 1
    assert h.sandboxes.phases == ["execute", "check", "execute", "check"]
    # It still fails: the PR opens anyway and says so; no third go at it.
    assert h.host.state["check"]["exit_code"] == 1 and h.host.state["check_fixed"] is True
    [pull] = h.host.pulls
    assert "failed" in pull.body
    assert len(h.requests()) == len(script)

    task = first_task(h.requests(), "check-1")
    assert "## Your requirement: check-1: Make the test command pass" in task
    assert "- [x] R1: Add greet() (done)\n- [~] check-1: Make the test command pass" in task
    assert "$ python3 check.py | grep -q 'Hello, Ada!' (exit 1)" in task
    diff = task.split(BRANCH_DIFF, 1)[1].split("## The repository", 1)[0]
    assert '+    return f"Hi, {name}"' in diff

    requests = len(h.requests())
    again = await h.run(requested_by="")  # a replayed job: the run rests awaiting CI
    assert again.phase is Phase.AWAIT_CI and len(h.requests()) == requests


async def test_a_fix_that_makes_the_check_pass_opens_the_pr_with_it_passing(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [
        plan_call(R1),
        *write_greet(HI, "greet() added."),
        call("write_file", path="greet.py", content=GREET),
        call("finish", summary="Greets with Hello, now."),
    ]
    h = harness(tmp_path, model, llm, None, CONFIG, script)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert nodes(h) == ["R1", "check-1"]
    assert h.host.state["check"]["exit_code"] == 0
    [pull] = h.host.pulls
    assert "passed" in pull.body


async def test_a_fix_the_agent_cannot_finish_is_dropped_and_the_pr_opens(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [
        plan_call(R1),
        *write_greet(HI, "greet() added."),
        call("ask_human", question="Which greeting do you want?"),
    ]
    h = harness(tmp_path, model, llm, None, CONFIG, script)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert nodes(h) == ["R1"] and h.host.state["check"]["exit_code"] == 1
    assert h.sandboxes.phases == ["execute", "check", "execute"]  # nothing new to check
    assert "question" not in h.host.state and h.host.notes == {}
    assert len(h.host.pulls) == 1


async def test_work_that_changed_nothing_gets_no_fix_of_the_bases_failure(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    # The finish gate refuses an unchanged `finish` once; the second is taken.
    script = [plan_call(R1), call("finish", summary="ok"), call("finish", summary="ok")]
    h = harness(tmp_path, model, llm, None, 'test: "false"\n', script)

    state = await h.run()

    assert state.phase is Phase.FAILED and h.host.state["check"]["exit_code"] == 1
    assert any("changed no file" in body for body in h.host.notes.values())
    assert not any("check-1" in str(r["messages"][1]["content"]) for r in h.requests())
    assert h.host.state["check_fixed"] is False


def restarted_after(h: Harness, nodes_on_branch: list[str], check_fixed: bool) -> None:
    """The branch and state a worker left that died after the first check failed: R1 (and
    the fix, when named) pushed, the fix recorded in the state or not."""
    seed = h.tmp / "seed"
    git(seed, "checkout", "--quiet", "-b", BRANCH)
    for node_id, content in zip(nodes_on_branch, (HI, HELLO_NO_COMMA), strict=False):
        (seed / "greet.py").write_text(content)
        git(seed, "add", "-A")
        message = f"Work\n\nDone.\n\nPilot-Issue: #7\nPilot-Node: {node_id}\n"
        git(seed, "commit", "--quiet", "-m", message)
    git(seed, "push", "--quiet", str(h.remote), BRANCH)
    tree = RequirementTree.from_plan({"requirements": [R1]})
    tree.set_status("R1", "done")
    saved = RunState(ISSUE.number, "alice", Phase.EXECUTE, branch=BRANCH, base_branch="main")
    saved.tree, saved.check_fixed = tree.to_state(), check_fixed
    h.host.saved.append(saved.to_dict())


async def test_a_restart_after_the_fix_began_opens_the_pr_without_another(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    # Died during the fix: the state says it began; nothing of it reached the branch.
    (tmp_path / "began").mkdir()
    h = harness(tmp_path / "began", model, llm, None, CONFIG, [])
    restarted_after(h, ["R1"], check_fixed=True)

    state = await h.run(requested_by="")

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.requests() == [] and nodes(h) == ["R1"]
    assert h.host.state["check"]["exit_code"] == 1 and len(h.host.pulls) == 1

    # Died after the fix's push, before the state said so: its trailer tells.
    (tmp_path / "pushed").mkdir()
    h = harness(tmp_path / "pushed", model, llm, None, CONFIG, [])
    restarted_after(h, ["R1", "check-1"], check_fixed=False)

    state = await h.run(requested_by="")

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.requests() == [] and nodes(h) == ["R1", "check-1"]
    assert h.sandboxes.phases == ["check"] and len(h.host.pulls) == 1
