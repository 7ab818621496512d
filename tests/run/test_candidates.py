"""Attempts as a tree with the scripted model: candidates in their own sandboxes, scored by the
repository's test command, the best one committed, all of them in the trajectory, the state
and the dashboard's run page."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import docker

from bot.agent.llm import OpenAICompatibleLLM
from bot.agent.trajectory import read_trajectory
from bot.core.feed import feed_event
from bot.dev.scripted_model import ScriptedModel
from bot.run.candidates import owning_run, session_run_id
from bot.run.phases.commands import retry_attempts
from bot.run.repo_config import parse_repo_config
from bot.run.state import Phase
from bot.run.summary import run_summary
from bot.web.dashboard import timeline, view
from bot.web.dashboard.routes import render
from tests.run.test_controller import BRANCH, GREET, R1, Harness, harness
from tests.run_fakes import call, commits, file_at, plan_call
from tests.stack_support import leftovers

WRONG = 'def greet(name: str) -> str:\n    return f"Hi, {name}"\n'
# check.py prints greet('Ada'): the test passes only for the greeting the issue asks for.
CONFIG = "attempts: 2\n{mode}test: \"python3 check.py | grep -q 'Hello, Ada!'\"\n"


def candidate(content: str, summary: str) -> list[dict[str, Any]]:
    return [
        call("write_file", path="greet.py", content=content),
        call("finish", summary=summary),
    ]


def failing_candidate() -> list[dict[str, Any]]:
    """A candidate whose tests fail: the finish gate refuses its first `finish` for that, and
    the model finishes again as it is."""
    return [*candidate(WRONG, "Greets with Hi."), call("finish", summary="Greets with Hi.")]


def records(h: Harness, kind: str) -> list[dict[str, Any]]:
    return [r for r in read_trajectory(h.deps.runs_dir / h.run_id) if r.get("kind") == kind]


async def page_of(h: Harness) -> str:
    """The run's page as the dashboard draws it from the summary the run publishes."""
    state = await h.host.load_state()
    assert state is not None
    summary = run_summary(
        h.run_id,
        await h.host.target(),
        state,
        h.host.reports[-1],
        parse_repo_config(h.host.config),
        time.time(),
    )
    return render("run.html.j2", run=view.run_head(summary, time.time()), events=[], next=0, api="")


async def test_two_candidates_of_which_one_passes_commit_the_passing_one(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [
        plan_call(R1),
        *failing_candidate(),  # candidate 0, in the work's sandbox
        *candidate(GREET, "Greets with Hello."),  # candidate 1, in a sandbox of its own
    ]
    h = harness(tmp_path, model, llm, None, CONFIG.format(mode=""), script)
    h.deps.max_parallel_attempts = 1

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert file_at(h.remote, BRANCH, "greet.py") == GREET
    [commit] = commits(h.remote, BRANCH)
    assert "Greets with Hello." in commit["message"]
    # The work's sandbox took the chosen files: the final check there passes.
    assert h.host.state["check"]["exit_code"] == 0
    assert h.sandboxes.sessions == 2

    tree = records(h, "candidate")
    assert [(r["node"], r["candidate"], r["chosen"]) for r in tree] == [
        ("R1", 0, False),
        ("R1", 1, True),
    ]
    wrong, right = tree
    assert wrong["score"] == {
        "tests_pass": False,
        "failing": None,
        "syntax_ok": True,
        "diff_lines": 2,
    }
    assert right["score"]["tests_pass"] is True and right["reward"] > wrong["reward"]
    assert "Hi, {name}" in wrong["diff"] and "Hello, {name}!" in right["diff"]
    assert [m["role"] for m in right["prompt"]] == ["system", "user"]
    assert right["messages"][0]["role"] == "assistant" and right["summary"] == "Greets with Hello."
    assert {r["candidate"] for r in records(h, "node_start")} == {0, 1}

    # Candidate 1 sampled hotter, with its own seed; candidate 0 as every call does.
    work = [r for r in h.requests() if "submit_plan" not in str(r.get("tools"))]
    assert [(r.get("temperature"), r.get("seed")) for r in work] == [
        (None, None),
        (None, None),
        (None, None),
        (0.8, 1),
        (0.8, 1),
    ]
    # Every candidate's tokens count.
    assert state.prompt_tokens + state.completion_tokens >= sum(
        r["tokens"]["prompt"] + r["tokens"]["completion"] for r in records(h, "node_end")
    )

    assert [(c["candidate"], c["chosen"]) for c in h.host.state["candidates"]] == [
        (0, False),
        (1, True),
    ]
    page = await page_of(h)
    table = page.split('id="candidates"', 1)[1].split("</tbody>", 1)[0]
    assert table.count("<tr") == 2
    assert "tests fail" in table and "tests pass · 0 failing" in table and "chosen" in table
    # The timeline shows each candidate's score; its conversation and diff stay in the file.
    shown = feed_event(right)
    assert shown is not None and not {"prompt", "messages", "diff"} & set(shown)
    line = timeline.event(1, shown)
    assert line.title == "Candidate 1: chosen" and line.meta.startswith("reward ")


async def test_a_first_candidate_that_passes_is_the_only_one(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [plan_call(R1), *candidate(GREET, "Greets with Hello.")]
    h = harness(tmp_path, model, llm, None, CONFIG.format(mode=""), script)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.sandboxes.sessions == 1
    [only] = records(h, "candidate")
    assert only["chosen"] and only["score"]["tests_pass"] is True
    assert file_at(h.remote, BRANCH, "greet.py") == GREET


async def test_always_tries_every_candidate_and_keeps_the_best(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [
        plan_call(R1),
        *candidate(GREET, "Greets with Hello."),
        *failing_candidate(),
    ]
    h = harness(tmp_path, model, llm, None, CONFIG.format(mode="attempts_on: always\n"), script)
    h.deps.max_parallel_attempts = 1

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.sandboxes.sessions == 2  # the second candidate ran though the first passed
    assert [(r["candidate"], r["chosen"]) for r in records(h, "candidate")] == [
        (0, True),
        (1, False),
    ]
    assert file_at(h.remote, BRANCH, "greet.py") == GREET
    assert h.host.state["check"]["exit_code"] == 0


def test_retry_attempts_reads_a_number_from_one_to_five() -> None:
    assert retry_attempts("") is None
    assert retry_attempts("please attempts=3") == 3
    assert retry_attempts("attempts=0") == 0
    assert retry_attempts("attempts=6") == 0
    assert retry_attempts("attempts=two") == 0


def test_a_candidate_session_belongs_to_its_run() -> None:
    run_id = "octo__app__issue-7"
    assert session_run_id(run_id, 2) != run_id
    assert owning_run(session_run_id(run_id, 2)) == run_id
    assert owning_run(run_id) == run_id


async def test_in_docker_a_candidate_session_leaves_the_work_session_alone(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    docker_api: docker.DockerClient,
) -> None:
    # The Docker backend clears whatever runs under a session's run id when it opens one:
    # a candidate's session must not take the work's sandbox with it.
    script = [
        plan_call(R1),
        *failing_candidate(),
        *candidate(GREET, "Greets with Hello."),
    ]
    h = harness(tmp_path, model, llm, docker_api, CONFIG.format(mode=""), script)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert file_at(h.remote, BRANCH, "greet.py") == GREET
    assert h.host.state["check"]["exit_code"] == 0
    assert h.sandboxes.sessions == 2  # the candidate's session was opened, and closed
    assert leftovers(docker_api, h.run_id) == []
    assert leftovers(docker_api, session_run_id(h.run_id, 1)) == []
