"""What the agent is told of the run's work so far, on the Controller with the scripted model: a
later requirement gets what the earlier ones did (summary and diff), in one session and after
a restart; a CI fix gets the plan with each requirement's status and the branch's diff against
the base branch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.agent.llm import OpenAICompatibleLLM
from bot.agent.requirements import NodeStatus
from bot.dev.scripted_model import ScriptedModel
from bot.run.state import Phase
from tests.run import test_run_followup as followup
from tests.run.test_controller import CLI, GREET, R1, R2_CLI, add_the_test, harness, push_r1
from tests.run_fakes import call, git, plan_call

EARLIER = "## What the earlier requirements did"
BRANCH_DIFF = "## The branch's changes so far (diff against the base branch)"
GREET_ADDED = '+    return f"Hello, {name}!"'


def first_task(requests: list[Any], node_id: str) -> str:
    """The task prompt of the first request made for `node_id`."""
    tasks = [str(r["messages"][1]["content"]) for r in requests]
    return next(t for t in tasks if f"## Your requirement: {node_id}:" in t)


async def test_the_second_requirement_is_told_what_the_first_did(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [
        plan_call(R1, R2_CLI),
        call("write_file", path="greet.py", content=GREET),
        call("finish", summary="greet() added in greet.py."),
        call("write_file", path="cli.py", content=CLI),
        call("finish", summary="cli.py greets its argument."),
    ]
    h = harness(tmp_path, model, llm, None, None, script)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert EARLIER not in first_task(h.requests(), "R1")
    second = first_task(h.requests(), "R2")
    assert EARLIER in second
    carried = second.split(EARLIER, 1)[1].split("## The repository", 1)[0]
    assert "R1: Add greet()\nSummary: greet() added in greet.py.\nDiff:\n" in carried
    assert "diff --git a/greet.py b/greet.py" in carried and GREET_ADDED in carried
    assert BRANCH_DIFF not in second  # the plan's own requirements get the earlier ones instead


async def test_after_a_restart_the_earlier_work_comes_from_the_branch(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    # R1 was committed and pushed by a worker that then died: its summary is in the message.
    h = harness(tmp_path, model, llm, None, None, add_the_test())
    push_r1(h, r1=NodeStatus.DONE, r2=NodeStatus.IN_PROGRESS)

    state = await h.run(requested_by="")

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    second = first_task(h.requests(), "R2")
    carried = second.split(EARLIER, 1)[1].split("## The repository", 1)[0]
    assert "R1: Add greet()\nSummary: greet() added.\nDiff:\n" in carried
    assert GREET_ADDED in carried and "Pilot-Node" not in carried


async def test_a_ci_fix_gets_the_plan_and_the_branchs_diff_against_the_base(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [plan_call(R1), *followup.fix(followup.GREET_BUG, "greet() added.")]
    h = followup.harness(tmp_path, model, llm, None, None, script)
    assert (await h.run()).phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    first = h.host.state["ci_sha"]
    # The base branch moves on meanwhile: what it gained is not the branch's change.
    seed = h.tmp / "seed"
    (seed / "LATER.md").write_text("merged on main after the branch was made\n")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "Later on main")
    git(seed, "push", "--quiet", str(h.remote), "main")
    h.red(first, "Unit tests", text="greet() said Hi")
    h.model.set_script(followup.fix(followup.GREET_V3))

    state = await h.handle({"kind": "ci", "sha": first})

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    task = first_task(h.requests(), "ci-1")
    plan = task.split("## The plan (all requirements, with their status)", 1)[1]
    assert plan.lstrip().startswith("- [x] R1: Add greet() (done)\n- [~] ci-1: Make CI pass")
    assert "(in_progress)  <- this one" in plan.split("\n\n", 1)[0]
    diff = task.split(BRANCH_DIFF, 1)[1].split("## The repository", 1)[0]
    assert "diff --git a/greet.py b/greet.py" in diff
    assert '+    return f"Hi {name}"' in diff  # the first pass's change
    assert "LATER.md" not in diff
    assert EARLIER not in task
    assert h.nodes_on_branch() == ["R1", "ci-1"]
