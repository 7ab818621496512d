"""The technical writer on the start path, on the Controller with in-process fakes: a run that
changes what the README describes ends with a `docs` node whose commit is in the same PR."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.agent.llm import OpenAICompatibleLLM
from bot.dev.scripted_model import ScriptedModel
from bot.run.state import Phase
from tests.run.test_controller import BRANCH, Harness, harness, statuses
from tests.run.test_docs_writer import CLI, CLI_SHOUT, README
from tests.run_fakes import call, commits, file_at, git, node, plan_call, write_files

R1 = node("R1", "Add a --shout flag")
README_SHOUT = README + "Add `--shout` to greet in capitals.\n"


def with_cli(h: Harness) -> None:
    """The project gets a CLI with one flag, and a README that documents it, on main."""
    seed = h.tmp / "seed"
    write_files(seed, {"cli.py": CLI, "README.md": README})
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "A CLI")
    git(seed, "push", "--quiet", str(h.remote), "main")


def add_shout() -> list[dict[str, Any]]:
    return [
        plan_call(R1),
        call("write_file", path="cli.py", content=CLI_SHOUT),
        call("finish", summary="--shout added."),
    ]


def node_of(commit: dict[str, str]) -> str:
    return commit["message"].rsplit("Pilot-Node: ", 1)[1].strip()


def asked(h: Harness, node_id: str) -> list[str]:
    """The task prompts the model got for `node_id`."""
    tasks = [request["messages"][1]["content"] for request in h.requests()]
    return [task for task in tasks if f"## Your requirement: {node_id}:" in task]


async def test_a_changed_cli_flag_gets_the_readme_updated_in_the_same_pr(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [
        *add_shout(),
        call("write_file", path="README.md", content=README_SHOUT),
        call("finish", summary="The README lists --shout."),
    ]
    h = harness(tmp_path, model, llm, None, None, script)
    with_cli(h)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert statuses(h.host.state) == {"R1": "done", "docs": "done"}
    assert "--shout" in (file_at(h.remote, BRANCH, "README.md") or "")
    assert [node_of(c) for c in commits(h.remote, BRANCH)] == ["R1", "docs"]
    assert h.host.state["head_sha"] == commits(h.remote, BRANCH)[-1]["sha"]
    [pull] = h.host.pulls
    assert "- [x] **docs** Update the docs" in pull.body
    # The status comment showed the docs node while it was worked, and done.
    checklists = [report.checklist for report in h.host.reports]
    assert any("**docs** Update the docs ⏳ in progress" in c for c in checklists)
    assert "- [x] **docs** Update the docs" in checklists[-1]
    # The writer was told what changed, where, and what to do about it.
    task = asked(h, "docs")[0]
    assert "flag `--shout` added in `cli.py`; README.md mentions `--name`" in task
    assert "`README.md` describes the code as it is now" in task
    assert "technical writer" in task
    trajectory = (h.tmp / "runs" / h.run_id / "trajectory.jsonl").read_text()
    [check] = [r for r in map(json.loads, trajectory.splitlines()) if r["kind"] == "docs_check"]
    assert check["docs"] == ["README.md"]


async def test_a_docs_node_that_changes_nothing_makes_no_commit(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    # The finish gate refuses the first `finish` of a node that changed nothing, not the second.
    already = call("finish", summary="The README is already right.")
    script = [*add_shout(), already, already]
    h = harness(tmp_path, model, llm, None, "docs: auto\n", script)
    with_cli(h)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert statuses(h.host.state) == {"R1": "done", "docs": "done"}
    assert [node_of(c) for c in commits(h.remote, BRANCH)] == ["R1"]
    assert file_at(h.remote, BRANCH, "README.md") == README
    assert len(asked(h, "docs")) == 2


async def test_docs_never_adds_no_docs_node(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, "docs: never\n", add_shout())
    with_cli(h)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert statuses(h.host.state) == {"R1": "done"}
    assert [node_of(c) for c in commits(h.remote, BRANCH)] == ["R1"]
    assert file_at(h.remote, BRANCH, "README.md") == README
    assert len(h.requests()) == 3 and asked(h, "docs") == []


async def test_a_change_the_docs_do_not_describe_adds_no_docs_node(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    # The harness's README is only a title: nothing in it describes the flags.
    h = harness(tmp_path, model, llm, None, None, add_shout())

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert statuses(h.host.state) == {"R1": "done"}
    assert len(h.requests()) == 3
