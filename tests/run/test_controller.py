"""The run's state machine with real parts around an in-memory host: the workspace on a local
bare repository, sandboxes in a temp dir (real docker where a test checks the containers), and
the OpenAI client talking to the scripted model."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from bot.agent.llm import OpenAICompatibleLLM
from bot.agent.requirements import NodeStatus, RequirementTree
from bot.core.branches import branch_name
from bot.core.inert import neutralise_lines
from bot.dev.scripted_model import ScriptedModel
from bot.github.workspace import Workspace
from bot.run.controller import Controller
from bot.run.deps import RunDeps
from bot.run.host import IssueRef
from bot.run.state import RESTING_PHASES, Phase, RunState
from bot.sandbox.docker_sandboxes import DockerSandboxes
from tests.run_fakes import (
    AUTHOR,
    IMAGE,
    CountingSandboxes,
    MemoryRunHost,
    branches,
    call,
    commits,
    file_at,
    git,
    make_remote,
    node,
    plan_call,
)
from tests.sandbox_fake import LocalSandboxes
from tests.stack_support import leftovers

ISSUE = IssueRef(7, "Greet people by name", "We need a greet(name) function.")
BRANCH = branch_name(ISSUE.number, ISSUE.title)
FILES = {
    "README.md": "# greeter\n",
    "check.py": "import greet\n\nprint(greet.greet('Ada'))\n",
}
GREET = 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'
TEST_GREET = "from greet import greet\n\nassert greet('Ada') == 'Hello, Ada!'\n"

R1 = node("R1", "Add greet()")
# A tests-only requirement: a plan folds it into R1; R2 is only seen on trees saved as they are.
R2 = node("R2", "Test greet()", ["R1"])
# A requirement with code of its own: a plan keeps it as a node of its own.
R2_CLI = node("R2", "Greet from the command line", ["R1"])
CLI = "import sys\n\nfrom greet import greet\n\nprint(greet(sys.argv[1]))\n"


@dataclass
class Harness:
    host: MemoryRunHost
    remote: Path
    sandboxes: CountingSandboxes
    model: ScriptedModel
    deps: RunDeps
    run_id: str
    tmp: Path

    async def run(self, requested_by: str = "alice") -> RunState:
        """`requested_by` empty: the job of no new request (a retried or resumed one)."""
        return await Controller(self.deps, self.host, self.run_id, requested_by).run()

    def controller(self, requested_by: str = "alice") -> Controller:
        return Controller(self.deps, self.host, self.run_id, requested_by)

    def requests(self) -> list[Any]:
        return self.model.requests()

    def tool_names(self, request: dict[str, Any]) -> set[str]:
        return {tool["function"]["name"] for tool in request.get("tools") or ()}


def harness(
    tmp: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    client: docker.DockerClient | None,
    config: str | None,
    script: list[dict[str, Any]],
) -> Harness:
    remote = make_remote(tmp, {**FILES, **({".github/pilot.yml": config} if config else {})})
    host = MemoryRunHost(remote=remote, issue=ISSUE, config=config)
    # Docker for the tests that check what containers leave; a temp dir for the rest.
    inner = DockerSandboxes(client) if client is not None else LocalSandboxes()
    sandboxes = CountingSandboxes(inner)
    run_id = f"test-controller-{uuid.uuid4().hex[:8]}"
    deps = RunDeps(
        llm=llm,
        sandboxes=sandboxes,
        workspace=Workspace(tmp / "cache"),
        runs_dir=tmp / "runs",
        sandbox_image=IMAGE,
    )
    model.set_script(script)
    return Harness(host, remote, sandboxes, model, deps, run_id, tmp)


def add_the_test() -> list[dict[str, Any]]:
    """The model's answers for R2: the test written, then done."""
    return [
        call("write_file", path="test_greet.py", content=TEST_GREET),
        call("finish", summary="Test added."),
    ]


def add_the_cli() -> list[dict[str, Any]]:
    """The model's answers for R2_CLI: the script written, then done."""
    return [
        call("write_file", path="cli.py", content=CLI),
        call("finish", summary="cli.py greets its argument."),
    ]


def statuses(state: dict[str, Any]) -> dict[str, str]:
    return {n["id"]: n["status"] for n in state["tree"]}


def push_r1(h: Harness, r1: NodeStatus, r2: NodeStatus) -> str:
    """R1's commit on the run's branch, as a worker pushed it, and a state saved with the
    given statuses; returns R1's commit."""
    seed = h.tmp / "seed"
    git(seed, "checkout", "--quiet", "-b", BRANCH)
    (seed / "greet.py").write_text(GREET)
    git(seed, "add", "greet.py")
    message = "Add greet()\n\ngreet() added.\n\nPilot-Issue: #7\nPilot-Node: R1\n"
    git(seed, "commit", "--quiet", "-m", message)
    git(seed, "push", "--quiet", str(h.remote), BRANCH)
    tree = RequirementTree.from_plan({"requirements": [R1, R2]})
    tree.set_status("R1", r1)
    tree.set_status("R2", r2)
    saved = RunState(ISSUE.number, "alice", Phase.EXECUTE, branch=BRANCH, base_branch="main")
    saved.tree = tree.to_state()
    h.host.saved.append(saved.to_dict())
    return branches(h.remote)[BRANCH]


async def test_invalid_config_gets_one_note_and_nothing_else(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, "test: make test\nmax_steps: lots\n", [plan_call(R1)])

    state = await h.run()

    assert state.phase is Phase.FAILED, h.host.notes or h.host.state
    assert h.host.state["phase"] == "failed"
    [note] = h.host.notes.values()
    assert "line 2" in note and "`max_steps`" in note
    assert "@alice" in note
    assert h.requests() == []
    assert h.sandboxes.sessions == 0
    assert list(branches(h.remote)) == ["main"]

    saves = len(h.host.saved)
    again = await h.run(requested_by="")
    assert again.phase is Phase.FAILED, h.host.notes or h.host.state
    assert len(h.host.post_calls) == 1
    assert len(h.host.saved) == saves
    assert h.requests() == []

    # A new request is a new attempt: the file is read again, and still refused.
    asked_again = await h.run()
    assert asked_again.phase is Phase.FAILED and asked_again.attempt == 2
    assert len(h.host.notes) == 2
    assert h.requests() == [] and h.sandboxes.sessions == 0


async def test_failing_setup_command_is_reported_with_its_output(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    docker_api: docker.DockerClient,
) -> None:
    config = "setup:\n  - echo boom; exit 3\n"
    h = harness(tmp_path, model, llm, docker_api, config, [plan_call(R1)])

    state = await h.run()

    assert state.phase is Phase.FAILED, h.host.notes or h.host.state
    assert h.host.phases[-2:] == ["setup", "failed"]
    [note] = h.host.notes.values()
    command = neutralise_lines("`echo boom; exit 3`")  # the reason is quoted inert
    assert command in note
    assert "exited 3" in note
    assert "boom" in note.split(command, 1)[1].split("exited 3", 1)[1]
    assert h.sandboxes.phases == ["setup"]
    assert leftovers(docker_api, h.run_id) == []
    assert list(branches(h.remote)) == ["main"]
    assert len(h.requests()) == 1


async def test_ask_human_parks_the_run_with_the_question(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    docker_api: docker.DockerClient,
) -> None:
    question = "Should greet() say Hi or Hello?"
    script = [plan_call(R1), call("ask_human", question=question)]
    h = harness(tmp_path, model, llm, docker_api, None, script)

    state = await h.run()

    assert state.phase is Phase.ASKED, h.host.notes or h.host.state
    assert h.host.state["phase"] == "asked"
    assert h.host.state["question"] == question
    assert statuses(h.host.state) == {"R1": NodeStatus.BLOCKED.value}
    assert h.host.state["parked"]["node"] == "R1"
    assert "R1" in h.host.reports[-1].headline
    [note] = h.host.notes.values()
    # Quoted inert: `greet\(\)` on the wire, greet() on GitHub.
    assert "@alice" in note and neutralise_lines(question) in note and "R1" in note
    assert leftovers(docker_api, h.run_id) == []
    assert list(branches(h.remote)) == ["main"]

    saves, asked, opened = len(h.host.saved), len(h.requests()), h.sandboxes.sessions
    again = await h.run()  # even a new request: an answer, not a start, moves it on
    assert again.phase is Phase.ASKED, h.host.notes or h.host.state
    assert (len(h.host.saved), len(h.requests()), h.sandboxes.sessions) == (saves, asked, opened)
    assert len(h.host.post_calls) == 1


async def test_a_model_answering_500_fails_the_run_while_executing(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    docker_api: docker.DockerClient,
) -> None:
    script = [plan_call(R1), {"error": 500}, {"error": 500}]
    h = harness(tmp_path, model, llm, docker_api, None, script)

    state = await h.run()

    assert state.phase is Phase.FAILED, h.host.notes or h.host.state
    assert h.host.state["error"] == "the model could not be reached"
    [note] = h.host.notes.values()
    assert "the model could not be reached" in note
    assert "HTTP 500" in note
    assert len(h.requests()) == 3  # the plan, then two tries
    assert list(branches(h.remote)) == ["main"]
    assert leftovers(docker_api, h.run_id) == []
    assert h.host.pulls == []


async def test_a_model_answering_500_fails_the_run_while_planning(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [{"error": 500}, {"error": 503}])

    state = await h.run()

    assert state.phase is Phase.FAILED, h.host.notes or h.host.state
    [note] = h.host.notes.values()
    assert "the model could not be reached" in note
    assert len(h.requests()) == 2
    assert h.sandboxes.sessions == 0
    assert list(branches(h.remote)) == ["main"]


async def test_out_of_steps_parks_the_run(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    docker_api: docker.DockerClient,
) -> None:
    script = [
        plan_call(R1),
        call("run_command", command="echo one"),
        call("run_command", command="echo two"),
        call("finish", summary="never reached"),
    ]
    h = harness(tmp_path, model, llm, docker_api, "max_steps: 2\n", script)

    state = await h.run()

    assert state.phase is Phase.ASKED, h.host.notes or h.host.state
    assert len(h.requests()) == 3
    [note] = h.host.notes.values()
    assert "The step budget for this requirement ran out." in note
    assert statuses(h.host.state) == {"R1": "blocked"}
    assert h.host.state["steps"] == 2
    assert list(branches(h.remote)) == ["main"]
    assert leftovers(docker_api, h.run_id) == []


async def test_plan_approval_waits_after_planning(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, "plan_approval: true\n", [plan_call(R1, R2_CLI)])

    state = await h.run()

    assert state.phase is Phase.WAIT_APPROVAL, h.host.notes or h.host.state
    assert h.host.phases == ["plan", "plan", "wait_approval"]
    assert statuses(h.host.state) == {"R1": "pending", "R2": "pending"}
    assert "approve" in h.host.reports[-1].headline
    assert h.sandboxes.sessions == 0
    assert list(branches(h.remote)) == ["main"]
    assert h.host.notes == {}
    assert len(h.requests()) == 1

    await h.run()
    assert len(h.host.saved) == 3 and len(h.requests()) == 1


async def test_a_resumed_run_only_works_on_the_unfinished_node(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    script = add_the_test()
    h = harness(tmp_path, model, llm, None, None, script)
    r1_sha = push_r1(h, r1=NodeStatus.DONE, r2=NodeStatus.IN_PROGRESS)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert "plan" not in h.host.phases
    requests = h.requests()
    assert len(requests) == 2
    assert all("submit_plan" not in h.tool_names(r) for r in requests)
    assert "R2" in requests[0]["messages"][1]["content"]
    ours = commits(h.remote, BRANCH)
    assert [c["sha"] for c in ours][:1] == [r1_sha]  # pushed on top, never forced over
    assert len(ours) == 2 and ours[1]["parent"] == r1_sha
    assert "Pilot-Node: R2" in ours[1]["message"]
    assert file_at(h.remote, BRANCH, "test_greet.py") == TEST_GREET
    assert statuses(h.host.state) == {"R1": "done", "R2": "done"}
    assert h.host.open_calls == 1 and len(h.host.pulls) == 1
    assert h.host.state["pr_number"] == h.host.pulls[0].number

    saves = len(h.host.saved)
    again = await h.run()
    assert again.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert len(h.host.saved) == saves
    assert len(h.requests()) == 2
    assert h.host.open_calls == 1


async def test_a_node_pushed_before_the_worker_died_is_not_done_again(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    # Killed after R1's push, before the state said so: the branch's trailers tell.
    script = add_the_test()
    h = harness(tmp_path, model, llm, None, None, script)
    r1_sha = push_r1(h, r1=NodeStatus.IN_PROGRESS, r2=NodeStatus.PENDING)

    state = await h.run(requested_by="")

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert len(h.requests()) == 2
    first_task = h.requests()[0]["messages"][1]["content"]
    assert "R2: Test greet() (in_progress)  <- this one" in first_task
    ours = commits(h.remote, BRANCH)
    assert len(ours) == 2 and ours[0]["sha"] == r1_sha and ours[1]["parent"] == r1_sha
    assert "Pilot-Node: R2" in ours[1]["message"]
    assert statuses(h.host.state) == {"R1": "done", "R2": "done"}


async def test_a_node_that_changes_nothing_is_done_without_a_commit(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    script = [
        plan_call(R1, R2_CLI),
        call("write_file", path="greet.py", content=GREET),
        # The finish gate refuses once for the failing test command, then lets R1 finish.
        call("finish", summary="greet() added."),
        call("finish", summary="greet() added."),
        # R2 changes nothing: refused once for that, then done without a commit.
        call("finish", summary="Nothing to change."),
        call("finish", summary="Nothing to change."),
        # The failing check's one fix (`check-1`): it cannot finish, so the PR opens without it.
        call("ask_human", question="Why does the test command fail?"),
    ]
    config = "test: echo tests-broke; exit 1\n"
    h = harness(tmp_path, model, llm, None, config, script)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert statuses(h.host.state) == {"R1": "done", "R2": "done"}
    ours = commits(h.remote, BRANCH)
    assert len(ours) == 1 and "Pilot-Node: R1" in ours[0]["message"]
    assert h.host.state["head_sha"] == ours[0]["sha"]
    [pull] = h.host.pulls
    assert pull.branch == BRANCH and pull.base == "main"
    # The failing local check does not stop the PR; its output is in the body.
    assert "failed with exit code 1" in pull.body
    assert "tests-broke" in pull.body
    assert h.host.state["check"]["exit_code"] == 1
    assert len(h.requests()) == len(script)  # each refusal was answered by the next `finish`


async def test_a_run_that_changed_nothing_does_not_open_a_pull_request(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    # The finish gate refuses the first `finish` of a node that changed nothing, not the second.
    script = [plan_call(R1), call("finish", summary="ok"), call("finish", summary="ok")]
    h = harness(tmp_path, model, llm, None, None, script)

    state = await h.run()

    assert statuses(h.host.state) == {"R1": "done"}
    assert state.phase in RESTING_PHASES
    assert h.host.pulls == []
    assert any("changed no file" in body for body in h.host.notes.values())
    assert len(h.requests()) == len(script)


async def test_commits_carry_the_trailers_and_the_hosts_author(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    script = [
        plan_call(R1),
        call("write_file", path="greet.py", content=GREET),
        call("finish", summary="greet() added."),
    ]
    h = harness(tmp_path, model, llm, None, None, script)

    await h.run()

    [commit] = commits(h.remote, BRANCH)
    assert (commit["author"], commit["email"]) == AUTHOR
    assert commit["committer"] == AUTHOR[0]
    assert commit["message"].splitlines()[0] == "Add greet()"
    trailers = commit["message"].strip().rsplit("\n\n", 1)[1].splitlines()
    assert trailers == ["Pilot-Issue: #7", "Pilot-Node: R1"]
    assert file_at(h.remote, BRANCH, "greet.py") == GREET
    assert file_at(h.remote, BRANCH, "README.md") == FILES["README.md"]
    assert branches(h.remote)[BRANCH] == h.host.state["head_sha"]


async def test_a_happy_run_saves_each_phase_and_reports_the_check(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    docker_api: docker.DockerClient,
) -> None:
    script = [
        plan_call(R1, R2_CLI),
        call("write_file", path="greet.py", content=GREET),
        call("finish", summary="greet() added."),
        *add_the_cli(),
    ]
    h = harness(tmp_path, model, llm, docker_api, "test: python3 check.py\n", script)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.host.phases == [
        "plan",
        "plan",
        *["execute"] * 4,
        "check",
        "pull_request",
        "await_ci",
    ]
    trees = [statuses(s) for s in h.host.saved if s["phase"] == "execute"]
    assert trees == [
        {"R1": "in_progress", "R2": "pending"},
        {"R1": "done", "R2": "pending"},
        {"R1": "done", "R2": "in_progress"},
        {"R1": "done", "R2": "done"},
    ]
    assert h.sandboxes.sessions == 1 and h.sandboxes.phases == ["execute", "check"]
    assert h.host.state["check"]["exit_code"] == 0
    assert "Hello, Ada!" in h.host.state["check"]["output_tail"]
    [pull] = h.host.pulls
    assert "`python3 check.py` in the sandbox: passed" in pull.body
    assert "Closes #7" in pull.body
    assert "- [x] **R1**" in pull.body and "**R2**" in pull.body
    assert pull.title == ISSUE.title
    assert h.host.state["pr_url"] in "\n".join(h.host.reports[-1].facts)
    assert [
        c["message"].rsplit("Pilot-Node: ", 1)[1].strip() for c in commits(h.remote, BRANCH)
    ] == [
        "R1",
        "R2",
    ]
    assert h.host.notes == {}
    assert leftovers(docker_api, h.run_id) == []


async def test_a_planned_tests_only_requirement_is_worked_with_the_change_it_tests(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [
        plan_call(R1, R2),
        call("write_file", path="greet.py", content=GREET),
        *add_the_test(),
    ]
    h = harness(tmp_path, model, llm, None, "test: python3 test_greet.py\n", script)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert statuses(h.host.state) == {"R1": "done"}
    task = h.requests()[1]["messages"][1]["content"]
    assert "Also: Test greet()." in task and "- Test greet() is done" in task
    [commit] = commits(h.remote, BRANCH)
    assert "Pilot-Node: R1" in commit["message"]
    assert file_at(h.remote, BRANCH, "greet.py") == GREET
    assert file_at(h.remote, BRANCH, "test_greet.py") == TEST_GREET
    assert h.host.state["check"]["exit_code"] == 0


async def test_no_usable_plan_asks_a_person_and_their_answer_goes_to_the_planner(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    cyclic = plan_call(node("R1", "Add greet()", ["R1"]))
    script = [
        cyclic,
        cyclic,
        cyclic,
        plan_call(R1),
        call("write_file", path="greet.py", content=GREET),
        call("finish", summary="greet() added."),
    ]
    h = harness(tmp_path, model, llm, None, None, script)

    state = await h.run()

    assert state.phase is Phase.ASKED and state.tree is None
    assert state.parked == {"kind": "plan", "node": "plan", "title": "Plan the work"}
    assert state.question and state.question.startswith("I could not turn this issue into a plan")
    [note] = h.host.notes.values()
    assert "No usable plan came out of 3 attempt(s)." in note
    assert state.prompt_tokens > 0  # the refused attempts are on the record

    answer = "Add greet(name) in greet.py; nothing else."
    command = {
        "kind": "command",
        "name": "continue",
        "sender": "alice",
        "comment_id": 5,
        "args": answer,
        "number": ISSUE.number,
    }
    resumed = await Controller(h.deps, h.host, h.run_id, "").handle(command)

    assert resumed is not None and resumed.phase is Phase.AWAIT_CI
    replan = h.requests()[3]["messages"][1]["content"]
    assert "A person answered: Add greet(name) in greet.py; nothing else." in replan
    assert file_at(h.remote, BRANCH, "greet.py") == GREET


async def test_time_spent_waiting_before_a_session_does_not_count_against_it(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    script = add_the_test()
    h = harness(tmp_path, model, llm, None, "max_minutes: 30\n", script)
    push_r1(h, r1=NodeStatus.DONE, r2=NodeStatus.IN_PROGRESS)
    h.host.saved[-1]["started_at"] -= 5 * 3600  # labelled five hours ago, then CI and people

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert statuses(h.host.state) == {"R1": "done", "R2": "done"}
