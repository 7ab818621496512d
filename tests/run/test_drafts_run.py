"""Drafts on the Controller with the scripted model: a plan bounded to one requirement (the issue
itself, no model call), a first draft the failing check refuses (put back), a second it accepts,
committed, pushed and opened as the pull request with no tool loop at all."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

from bot.agent.llm import OpenAICompatibleLLM
from bot.dev.scripted_model import ScriptedModel
from bot.github.workspace import Workspace
from bot.run.deps import RunDeps
from bot.run.state import Phase
from tests.run.test_controller import BRANCH, GREET, ISSUE, Harness
from tests.run_fakes import (
    IMAGE,
    CountingSandboxes,
    MemoryRunHost,
    commits,
    file_at,
    make_remote,
)
from tests.sandbox_fake import LocalSandboxes

CONFIG = "test: \"python3 check.py | grep -q 'Hello, Ada!'\"\n"
FILES = {
    "README.md": "# greeter\n",
    "check.py": "import greet\n\nprint(greet.greet('Ada'))\n",
    "greet.py": 'def greet(name: str) -> str:\n    return f"Hi, {name}"\n',
    ".github/pilot.yml": CONFIG,
}
WRONG = 'The greeting is wrong.\n```python\ndef greet(name: str) -> str:\n    return "Hello"\n```\n'
RIGHT = f"Line 2 greets with Hi, not Hello.\n```python\n# greet.py\n{GREET}```\n"


def drafting_harness(tmp: Path, model: ScriptedModel, llm: OpenAICompatibleLLM) -> Harness:
    remote = make_remote(tmp, FILES)
    host = MemoryRunHost(remote=remote, issue=ISSUE, config=CONFIG)
    sandboxes = CountingSandboxes(LocalSandboxes())
    deps = RunDeps(
        llm=llm,
        sandboxes=sandboxes,
        workspace=Workspace(tmp / "cache"),
        runs_dir=tmp / "runs",
        sandbox_image=IMAGE,
        drafts=3,
        plan_max_requirements=1,
    )
    return Harness(host, remote, sandboxes, model, deps, f"test-drafts-{uuid.uuid4().hex[:8]}", tmp)


async def test_a_draft_the_check_accepts_becomes_the_requirements_commit(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = drafting_harness(tmp_path, model, llm)
    model.set_script([{"content": WRONG}, {"content": RIGHT}])

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert file_at(h.remote, BRANCH, "greet.py") == GREET
    [commit] = commits(h.remote, BRANCH)
    assert "Line 2 greets with Hi, not Hello." in commit["message"]
    # No planner call: the one requirement is the issue, in its own words.
    first, second = h.requests()
    [node] = state.tree or []
    assert (node["id"], node["title"]) == ("R1", ISSUE.title)
    # Drafts are plain requests: no tools, sampled apart, the code shown without line numbers.
    assert "tools" not in first and "tools" not in second
    assert first["seed"] != second["seed"] and first["temperature"] == 0.7
    assert (
        'greet.py\n```python\ndef greet(name: str) -> str:\n    return f"Hi, {name}"\n```'
        in (first["messages"][1]["content"])
    )
    assert (
        "`python3 check.py | grep -q 'Hello, Ada!'` fails\n```text\nexit code 1"
        in (first["messages"][1]["content"])
    )
    [pull] = h.host.pulls
    assert pull.branch == BRANCH


async def test_without_drafts_the_same_run_goes_to_the_tool_loop(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = drafting_harness(tmp_path, model, llm)
    h.deps = replace(h.deps, drafts=0)
    model.set_script(
        [{"tool_calls": [{"name": "ask_human", "arguments": {"question": "Hi or Hello?"}}]}]
    )
    state = await h.run()
    assert state.phase is Phase.ASKED
    assert [bool(r.get("tools")) for r in h.requests()] == [True]
