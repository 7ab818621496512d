"""After the pull request (bot/run/dispatch.py, bot/run/phases/), driven through
`Controller.handle`: CI verdicts, fixes in a budget, rollback, the CI time-out, reviews, people's
commands and endings; with the workspace on a local bare repository, sandboxes in a temp dir
(real docker where a test checks the containers) and the scripted model."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from bot.agent.llm import OpenAICompatibleLLM
from bot.agent.requirements import NodeStatus, RequirementTree
from bot.core.branches import branch_name
from bot.dev.scripted_model import ScriptedModel
from bot.github.api import CheckRunInfo, JobLog, ReviewComment, ReviewInfo, StatusInfo
from bot.github.workspace import Workspace
from bot.run.controller import Controller
from bot.run.deps import RunDeps
from bot.run.host import IssueRef
from bot.run.state import Phase, RunState
from bot.sandbox.docker_sandboxes import DockerSandboxes
from tests.run_fakes import (
    IMAGE,
    CountingSandboxes,
    MemoryRunHost,
    Pull,
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
PR = 100
FILES = {"README.md": "# greeter\n", "check.py": "import greet\n\nprint(greet.greet('Ada'))\n"}
GREET_BUG = 'def greet(name: str) -> str:\n    return f"Hi {name}"\n'
GREET_V2 = 'def greet(name: str) -> str:\n    return f"Hello {name}"\n'
GREET_V3 = 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'
R1 = node("R1", "Add greet()")
HUNK_1 = '@@ -1,2 +1,2 @@\n def greet(name: str) -> str:\n-    return f"Hi {name}"'
HUNK_2 = "@@ -1,3 +1,3 @@\n import greet\n \n print(greet.greet('Ada'))"


def fix(content: str, summary: str = "Fixed greet().") -> list[dict[str, Any]]:
    """One agent pass: writes greet.py and finishes."""
    return [call("write_file", path="greet.py", content=content), call("finish", summary=summary)]


def check_run(
    run_id: int, name: str, conclusion: str | None, text: str = "", app: str = "github-actions"
) -> CheckRunInfo:
    status = "completed" if conclusion else "in_progress"
    url = f"https://ci.example.test/runs/{run_id}"
    return CheckRunInfo(run_id, name, status, conclusion, app, f"{name} done", "", text, url)


@dataclass
class Harness:
    host: MemoryRunHost
    remote: Path
    sandboxes: CountingSandboxes
    model: ScriptedModel
    deps: RunDeps
    run_id: str
    tmp: Path

    async def run(self) -> RunState:
        return await Controller(self.deps, self.host, self.run_id, "alice").run()

    async def handle(self, event: dict[str, Any]) -> RunState | None:
        return await Controller(self.deps, self.host, self.run_id, "").handle(event)

    async def command(
        self, name: str, comment_id: int, args: str = "", sender: str = "alice"
    ) -> RunState | None:
        event = {
            "kind": "command",
            "name": name,
            "args": args,
            "sender": sender,
            "comment_id": comment_id,
            "number": PR,
        }
        return await self.handle(event)

    def requests(self) -> list[Any]:
        return self.model.requests()

    def prompts(self) -> str:
        """Every message the model was sent since the script was set, as one text."""
        return "\n".join(
            str(m.get("content") or "") for r in self.requests() for m in r.get("messages", [])
        )

    def head(self) -> str:
        return branches(self.remote)[BRANCH]

    def nodes_on_branch(self) -> list[str]:
        return [
            c["message"].rsplit("Pilot-Node: ", 1)[1].strip() for c in commits(self.remote, BRANCH)
        ]

    def push(self, files: dict[str, str], node_id: str, title: str) -> str:
        """A commit of the run's, with its trailers, pushed the way a worker would."""
        seed = self.tmp / "seed"
        if git(seed, "rev-parse", "--abbrev-ref", "HEAD").strip() != BRANCH:
            git(seed, "checkout", "--quiet", "-b", BRANCH)
        for name, text in files.items():
            (seed / name).write_text(text)
        git(seed, "add", "-A")
        message = f"{title}\n\nDone.\n\nPilot-Issue: #7\nPilot-Node: {node_id}\n"
        git(seed, "commit", "--quiet", "-m", message)
        git(seed, "push", "--quiet", str(self.remote), BRANCH)
        return self.head()

    def at_await_ci(self, **fields: Any) -> str:
        """The state a run rests in after opening its pull request (R1 pushed, CI awaited on
        it); returns R1's commit."""
        sha = self.push({"greet.py": GREET_BUG}, "R1", "Add greet()")
        self.host.pulls.append(Pull(BRANCH, "main", ISSUE.title, "Closes #7", PR))
        tree = RequirementTree.from_plan({"requirements": [R1]})
        tree.set_status("R1", NodeStatus.DONE)
        state = RunState(ISSUE.number, "alice", Phase.AWAIT_CI, branch=BRANCH, base_branch="main")
        state.tree = tree.to_state()
        state.pr_number, state.pr_url = PR, f"https://example.test/pull/{PR}"
        state.head_sha = state.ci_sha = sha
        state.ci_attempt = 1
        for name, value in fields.items():
            setattr(state, name, value)
        self.host.saved.append(state.to_dict())
        return sha

    def red(self, sha: str, *names: str, text: str = "", log: str = "") -> None:
        self.host.check_runs_of[sha] = [
            check_run(i + 1, name, "failure", text) for i, name in enumerate(names)
        ]
        if log:
            self.host.job_logs_of[sha] = [JobLog(900, names[0], "failure", log)]

    def trajectory(self) -> list[dict[str, Any]]:
        path = self.deps.runs_dir / self.run_id / "trajectory.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]


def harness(
    tmp: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    client: docker.DockerClient | None,
    config: str | None,
    script: list[dict[str, Any]],
) -> Harness:
    tmp.mkdir(parents=True, exist_ok=True)
    remote = make_remote(tmp, {**FILES, **({".github/pilot.yml": config} if config else {})})
    # A force push would be refused: rewriting the branch's history fails the run.
    git(remote, "config", "receive.denyNonFastForwards", "true")
    host = MemoryRunHost(remote=remote, issue=ISSUE, config=config)
    # Docker for the tests that check what containers leave; a temp dir for the rest.
    inner = DockerSandboxes(client) if client is not None else LocalSandboxes()
    sandboxes = CountingSandboxes(inner)
    run_id = f"test-followup-{uuid.uuid4().hex[:8]}"
    deps = RunDeps(
        llm=llm,
        sandboxes=sandboxes,
        workspace=Workspace(tmp / "cache"),
        runs_dir=tmp / "runs",
        sandbox_image=IMAGE,
    )
    model.set_script(script)
    return Harness(host, remote, sandboxes, model, deps, run_id, tmp)


def is_ancestor(remote: Path, older: str, newer: str) -> bool:
    try:
        git(remote, "merge-base", "--is-ancestor", older, newer)
    except RuntimeError:
        return False
    return True


# CI verdicts ------------------------------------------------------------------------------------
async def test_a_ci_event_for_a_superseded_sha_changes_nothing(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [])
    sha = h.at_await_ci()
    old = "f" * 40
    h.red(old, "Unit tests", text="boom")
    saves = len(h.host.saved)

    state = await h.handle({"kind": "ci", "sha": old})

    assert state is not None and state.phase is Phase.AWAIT_CI and state.ci_sha == sha
    assert len(h.host.saved) == saves
    assert h.requests() == [] and h.sandboxes.sessions == 0
    assert h.host.post_calls == [] and h.host.ready == []
    assert any(r.get("kind") == "ignored" and r.get("ci_sha") == old for r in h.trajectory())


async def test_green_ci_marks_the_pull_request_ready_once(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, None, [plan_call(R1), *fix(GREET_V3)])
    first = await h.run()
    assert first.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    sha = h.host.state["ci_sha"]
    assert sha == h.head()
    h.host.check_runs_of[sha] = [
        check_run(1, "Unit tests", "success"),
        check_run(2, "Pilot self-check", "failure", app="issue-pilot"),  # our own: not CI
    ]
    h.host.statuses_of[sha] = [StatusInfo("lint", "success", "ok", "", "linter[bot]")]
    requests = len(h.requests())

    state = await h.handle({"kind": "ci", "sha": sha})

    assert state is not None and state.phase is Phase.READY, h.host.notes or h.host.state
    assert h.host.state["phase"] == "ready"
    assert h.host.ready == [PR]
    assert [n for n, _ in h.host.pull_updates] == [PR]
    assert "CI passed on" in h.host.pulls[0].body and "Unit tests" in h.host.pulls[0].body
    ready_keys = [k for k in h.host.notes if k.startswith("ready")]
    assert len(ready_keys) == 1
    assert h.host.note_numbers[ready_keys[0]] == PR
    note = h.host.notes[ready_keys[0]]
    assert "@alice" in note and "ready for review" in note and "Unit tests" in note
    assert len(h.requests()) == requests

    saves, posts = len(h.host.saved), len(h.host.post_calls)
    again = await h.handle({"kind": "ci", "sha": sha})
    assert again is not None and again.phase is Phase.READY
    assert h.host.ready == [PR]
    assert (len(h.host.saved), len(h.host.post_calls)) == (saves, posts)
    assert len(h.host.pull_updates) == 1


async def test_red_ci_makes_a_fix_iteration_with_the_failure_in_its_request(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    docker_api: docker.DockerClient,
) -> None:
    h = harness(tmp_path, model, llm, docker_api, None, [plan_call(R1), *fix(GREET_BUG)])
    assert (await h.run()).phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    first = h.host.state["ci_sha"]
    log = (
        "2026-01-01T00:00:00.0000000Z Run python3 -m unittest\n"
        "E   AssertionError: 'Hi Ada' != 'Hello, Ada!'\nFAILED (failures=1)\n"
    )
    h.red(first, "Unit tests", text="test_greet: greet() said Hi", log=log)
    h.model.set_script(fix(GREET_V3))

    state = await h.handle({"kind": "ci", "sha": first})

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    prompts = h.prompts()
    assert "AssertionError: 'Hi Ada' != 'Hello, Ada!'" in prompts  # the job's log
    assert "test_greet: greet() said Hi" in prompts  # the check run's output
    assert "Unit tests" in prompts
    assert h.nodes_on_branch() == ["R1", "ci-1"]
    assert file_at(h.remote, BRANCH, "greet.py") == GREET_V3
    saved = h.host.state
    assert saved["ci_attempt"] == 2
    assert saved["ci_sha"] == h.head() != first
    assert saved["ci_history"] == [{"sha": first, "failing": 1, "names": ["Unit tests"]}]
    assert "working" not in saved
    assert leftovers(docker_api, h.run_id) == []


async def test_a_worse_attempt_is_rolled_back_without_rewriting_history(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, None, fix(GREET_V2))
    best = h.at_await_ci()
    h.red(best, "Unit tests")
    await h.handle({"kind": "ci", "sha": best})
    second = h.host.state["ci_sha"]
    assert h.nodes_on_branch() == ["R1", "ci-1"] and second == h.head()
    h.red(second, "Unit tests", "Lint")  # worse: two checks fail now
    h.model.set_script(fix(GREET_V3))

    state = await h.handle({"kind": "ci", "sha": second})

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.nodes_on_branch() == ["R1", "ci-1", "ci-2-restore", "ci-2"]
    ours = commits(h.remote, BRANCH)
    restore = ours[2]
    assert restore["parent"] == second
    assert file_at(h.remote, restore["sha"], "greet.py") == file_at(h.remote, best, "greet.py")
    assert file_at(h.remote, BRANCH, "greet.py") == GREET_V3
    for earlier in (best, second, restore["sha"]):
        assert is_ancestor(h.remote, earlier, h.head())
    assert h.host.state["best_sha"] == best
    assert f"`{best[:7]}`, the best so far" in h.prompts()
    assert h.host.state["ci_attempt"] == 3 and h.host.state["ci_sha"] == h.head()


async def test_a_spent_budget_asks_and_continue_gives_one_more_attempt(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, "max_ci_attempts: 2\n", fix(GREET_V2))
    first = h.at_await_ci()
    h.red(first, "Unit tests")
    await h.handle({"kind": "ci", "sha": first})
    second = h.host.state["ci_sha"]
    assert h.host.state["ci_attempt"] == 2 and second != first
    h.red(second, "Unit tests")
    h.model.set_script([])

    asked = await h.handle({"kind": "ci", "sha": second})

    assert asked is not None and asked.phase is Phase.ASKED, h.host.notes or h.host.state
    assert h.host.state["parked"]["kind"] == "ci"
    assert h.requests() == []
    [key] = [k for k in h.host.notes if k.startswith("ask-")]
    assert h.host.note_numbers[key] == PR
    assert "@alice" in h.host.notes[key] and "continue" in h.host.notes[key]
    assert h.head() == second

    hint = "Say Hello, with a comma and a bang."
    h.model.set_script(fix(GREET_V3))
    state = await h.command("continue", 301, args=hint)

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert f"A person answered: {hint}" in h.prompts()
    assert "Going on with @alice's answer." in h.host.notes["cmd-301"]
    assert h.nodes_on_branch() == ["R1", "ci-1", "ci-2"]
    assert h.host.state["ci_attempt"] == 3 and h.host.state["ci_extra"] == 1
    assert h.host.state["ci_sha"] == h.head() != second
    assert "parked" not in h.host.state


async def test_ci_time_out_runs_the_test_command_in_the_sandbox(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path / "pass", model, llm, None, 'test: "true"\n', [])
    sha = h.at_await_ci()

    state = await h.handle({"kind": "ci_timeout", "sha": sha})

    assert state is not None and state.phase is Phase.READY, h.host.notes or h.host.state
    [key] = [k for k in h.host.notes if k.startswith("ready")]
    note = h.host.notes[key]
    assert "No CI reported" in note and "the sandbox ran `true`" in note and "passed" in note
    assert h.host.ready == [PR] and h.requests() == []
    assert h.sandboxes.phases == ["check"]

    # `false` fails whatever the fix: the finish gate refuses its first `finish` for that.
    script = [*fix(GREET_V3), call("finish", summary="Fixed greet().")]
    h = harness(tmp_path / "fail", model, llm, None, 'test: "false"\n', script)
    sha = h.at_await_ci()
    saves = len(h.host.saved)
    await h.handle({"kind": "ci_timeout", "sha": "e" * 40})  # an older push's time-out
    assert len(h.host.saved) == saves and h.sandboxes.sessions == 0

    state = await h.handle({"kind": "ci_timeout", "sha": sha})

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.host.ready == []
    [key] = [k for k in h.host.notes if k.startswith("fallback")]
    assert "No CI reported" in h.host.notes[key] and "failed" in h.host.notes[key]
    assert "$ false (exit 1)" in h.prompts()
    assert h.nodes_on_branch() == ["R1", "ci-1"]
    assert h.host.state["ci_attempt"] == 2 and h.host.state["ci_sha"] == h.head() != sha

    saves, requests = len(h.host.saved), len(h.requests())
    await h.handle({"kind": "ci_timeout", "sha": sha})  # superseded by the fix's push
    assert (len(h.host.saved), len(h.requests())) == (saves, requests)


async def test_a_time_out_over_finished_ci_judges_it_instead_of_testing_in_the_sandbox(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    # CI finished red, its webhooks were lost, and the reconciler only sends the time-out.
    h = harness(tmp_path, model, llm, None, 'test: "true"\n', fix(GREET_V3))
    sha = h.at_await_ci()
    h.red(sha, "Unit tests", text="AssertionError: 'Hello Ada' != 'Hello, Ada!'")

    state = await h.handle({"kind": "ci_timeout", "sha": sha})

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert not [k for k in h.host.notes if k.startswith(("ready", "fallback"))]
    assert h.sandboxes.phases.count("check") == 0
    assert "AssertionError: 'Hello Ada' != 'Hello, Ada!'" in h.prompts()
    assert h.host.state["ci_history"][0]["names"] == ["Unit tests"]


# people's commands --------------------------------------------------------------------------
async def test_commands_status_approve_continue_and_stop(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [])
    h.at_await_ci()

    await h.command("status", 201)
    assert h.host.post_calls == ["cmd-201"] and h.host.note_numbers["cmd-201"] == PR
    status = h.host.notes["cmd-201"]
    assert "waiting for the repository's CI" in status and "**R1**" in status
    saves = len(h.host.saved)
    await h.command("status", 201)  # the same comment delivered again
    assert h.host.post_calls == ["cmd-201"] and len(h.host.saved) == saves

    await h.command("approve", 202)
    assert "No plan waits for approval." in h.host.notes["cmd-202"]
    await h.command("continue", 203, args="carry on")
    assert "Nothing waits for an answer" in h.host.notes["cmd-203"]
    assert h.host.state["phase"] == "await_ci" and h.requests() == []

    state = await h.command("stop", 204)

    assert state is not None and state.phase is Phase.STOPPED
    assert h.host.state["phase"] == "stopped" and h.host.state["outcome"] == "stopped"
    assert h.host.removed_labels == ["pilot"]
    assert "@alice" in h.host.notes["cmd-204"]
    assert h.requests() == [] and h.sandboxes.sessions == 0


async def test_a_command_from_someone_not_allowed_is_refused(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, "allowed_users: [alice]\n", [])
    h.at_await_ci()

    state = await h.command("stop", 401, sender="mallory")

    assert state is not None and state.phase is Phase.AWAIT_CI
    assert h.host.state["phase"] == "await_ci" and "outcome" not in h.host.state
    assert "@mallory is not in `allowed_users`" in h.host.notes["cmd-401"]
    assert h.host.removed_labels == []

    await h.command("stop", 402, sender="Alice")  # logins are case-insensitive
    assert h.host.state["phase"] == "stopped"


async def test_retry_restarts_a_failed_run(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, None, [{"error": 500}, {"error": 500}])
    failed = await h.run()
    assert failed.phase is Phase.FAILED, h.host.notes or h.host.state
    h.model.set_script([plan_call(R1), *fix(GREET_V3)])

    state = await h.command("retry", 501)

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert "Retrying" in h.host.notes["cmd-501"]
    assert h.nodes_on_branch() == ["R1"]
    assert h.host.state["pr_number"] == PR and len(h.host.pulls) == 1
    assert "error" not in h.host.state


# endings --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("merged", "phase", "outcome"), [(True, "merged", "success"), (False, "closed", "rejected")]
)
async def test_a_closed_pull_request_ends_the_run(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
    merged: bool,
    phase: str,
    outcome: str,
) -> None:
    h = harness(tmp_path, model, llm, None, None, [])
    sha = h.at_await_ci()

    await h.handle({"kind": "pull_closed", "pull": PR, "merged": merged})

    assert h.host.state["phase"] == phase and h.host.state["outcome"] == outcome
    assert {"kind": "outcome", "outcome": outcome} in [
        {k: r.get(k) for k in ("kind", "outcome")} for r in h.trajectory()
    ]

    saves, posts = len(h.host.saved), len(h.host.post_calls)
    h.red(sha, "Unit tests")
    for event in (
        {"kind": "ci", "sha": sha},
        {"kind": "ci_timeout", "sha": sha},
        {"kind": "command", "name": "retry", "sender": "alice", "comment_id": 9},
        {"kind": "stop", "reason": "issue closed"},
        {"kind": "pull_closed", "pull": PR, "merged": not merged},
    ):
        state = await h.handle(event)
        assert state is not None and state.phase.value == phase
    assert (len(h.host.saved), len(h.host.post_calls)) == (saves, posts)
    assert h.requests() == [] and h.host.removed_labels == []
    ignored = [r for r in h.trajectory() if r.get("kind") == "ignored"]
    assert len(ignored) == 5


# an interrupted follow-up ---------------------------------------------------------------------
async def test_an_interrupted_fix_already_pushed_is_not_done_again(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [])
    first = h.at_await_ci()
    fixed = h.push({"greet.py": GREET_V3}, "ci-1", "Make CI pass (attempt 2 of 3)")
    saved = RunState.from_dict(h.host.state)
    saved.phase = Phase.EXECUTE
    saved.ci_history = [{"sha": first, "failing": 1, "names": ["Unit tests"]}]
    saved.handled = [f"ci:{first}"]
    saved.working = {
        "node": "ci-1",
        "title": "Make CI pass (attempt 2 of 3)",
        "description": "CI failed.",
        "acceptance": ["`Unit tests` passes"],
        "notes": ["Check `Unit tests`: failure"],
        "park_as": "ci",
        "restore_to": None,
    }
    h.host.saved.append(saved.to_dict())

    state = await h.handle({"kind": "ci", "sha": first})  # the event that woke it

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.requests() == [] and h.sandboxes.sessions == 0
    assert h.nodes_on_branch() == ["R1", "ci-1"] and h.head() == fixed
    assert h.host.state["ci_sha"] == fixed and h.host.state["head_sha"] == fixed
    assert h.host.state["ci_attempt"] == 2
    assert "working" not in h.host.state
    assert h.host.post_calls == []


# reviews ----------------------------------------------------------------------------------------
async def test_a_review_is_addressed_and_each_comment_answered(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, None, fix(GREET_V3))
    first = h.at_await_ci(ci_attempt=2, ci_history=[{"sha": "a" * 40, "failing": 1, "names": []}])
    h.host.reviews[55] = ReviewInfo(55, "changes_requested", "Two things.", "bob")
    h.host.comments_of_review[55] = [
        ReviewComment(901, "greet.py", 2, HUNK_1, "Say Hello, with a bang.", "bob"),
        ReviewComment(902, "check.py", 3, HUNK_2, "Greet Grace as well.", "bob"),
    ]
    event = {"kind": "review", "pull": PR, "review_id": 55, "reviewer": "bob"}

    state = await h.handle(event)

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    prompts = h.prompts()
    assert "`greet.py` line 2" in prompts and HUNK_1 in prompts
    assert "`check.py` line 3" in prompts and HUNK_2 in prompts
    assert "Say Hello, with a bang." in prompts and "@bob" in prompts
    new = h.head()
    assert new != first and h.nodes_on_branch() == ["R1", "review-55"]
    assert sorted(h.host.replies) == [(901, f"Addressed in {new}."), (902, f"Addressed in {new}.")]
    assert h.host.state["ci_sha"] == new and h.host.state["ci_attempt"] == 1
    assert "ci_history" not in h.host.state

    saves, requests = len(h.host.saved), len(h.requests())
    await h.handle(event)
    assert (len(h.host.saved), len(h.requests()), len(h.host.replies)) == (saves, requests, 2)


# bugs found by review, each kept fixed ------------------------------------
WORKING = {
    "node": "ci-1",
    "title": "Make CI pass (attempt 2 of 3)",
    "description": "CI failed.",
    "acceptance": ["`Unit tests` passes"],
    "notes": ["Check `Unit tests`: failure"],
    "park_as": "ci",
    "restore_to": None,
}


async def test_a_stop_command_does_not_first_redo_interrupted_work(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, None, [])
    h.at_await_ci(phase=Phase.EXECUTE, working=WORKING)  # a worker died during the fix

    await h.command("stop", 601)

    assert h.requests() == []
    assert h.host.state["phase"] == "stopped"


async def test_a_status_command_on_a_stopped_run_does_no_agent_work(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, None, [])
    # What Controller.stop saves when a stop lands during a fix: STOPPED, `working` kept.
    h.at_await_ci(phase=Phase.STOPPED, outcome="stopped", working=WORKING)

    await h.command("status", 602)

    assert h.requests() == [] and h.sandboxes.sessions == 0
    assert h.host.state["phase"] == "stopped"
    assert "cmd-602" in h.host.notes


async def test_an_answer_to_a_question_asked_during_a_fix_reaches_the_agent(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, None, [call("ask_human", question="Hi or Hello?")])
    first = h.at_await_ci()
    h.red(first, "Unit tests")
    asked = await h.handle({"kind": "ci", "sha": first})
    assert asked is not None and asked.phase is Phase.ASKED
    h.model.set_script(fix(GREET_V3))

    await h.command("continue", 701, args="Use Hello, with a comma.")

    assert "A person answered: Use Hello, with a comma." in h.prompts()
    assert "Nothing waits" not in h.host.notes["cmd-701"]


async def test_after_retry_a_red_ci_still_gets_a_fix(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, "max_ci_attempts: 2\n", fix(GREET_V2))
    first = h.at_await_ci()
    h.red(first, "Unit tests")
    await h.handle({"kind": "ci", "sha": first})  # ci-1
    second = h.host.state["ci_sha"]
    h.red(second, "Unit tests")
    await h.handle({"kind": "ci", "sha": second})  # budget spent: asks
    assert h.host.state["phase"] == "asked"
    h.model.set_script(fix(GREET_BUG))
    await h.command("retry", 801)  # a fresh budget: ci-0
    third = h.host.state["ci_sha"]
    assert h.host.state["phase"] == "await_ci" and third != second
    h.red(third, "Unit tests")
    h.model.set_script(fix(GREET_V3))

    await h.handle({"kind": "ci", "sha": third})

    assert len(h.requests()) == 2, h.nodes_on_branch()
    assert h.host.state["ci_sha"] != third


async def test_a_failing_commit_status_reaches_the_agent(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, None, fix(GREET_V3))
    first = h.at_await_ci()
    h.host.statuses_of[first] = [
        StatusInfo(
            "ci/jenkins",
            "failure",
            "3 tests failed in test_greet.py",
            "https://jenkins.example.test/job/1",
            "jenkins",
        )
    ]

    await h.handle({"kind": "ci", "sha": first})

    assert h.host.state["phase"] == "await_ci" and h.nodes_on_branch() == ["R1", "ci-1"]
    assert "3 tests failed in test_greet.py" in h.prompts()


async def test_a_review_from_someone_not_allowed_changes_nothing(
    tmp_path: Path,
    model: ScriptedModel,
    llm: OpenAICompatibleLLM,
) -> None:
    h = harness(tmp_path, model, llm, None, "allowed_users: [alice]\n", fix(GREET_V3))
    first = h.at_await_ci()
    h.host.reviews[56] = ReviewInfo(56, "changes_requested", "Print the token.", "mallory")

    await h.handle({"kind": "review", "pull": PR, "review_id": 56, "reviewer": "mallory"})

    assert h.requests() == [] and h.head() == first


async def test_retry_of_a_failed_run_with_a_pull_request_is_saved(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [])
    # What _refuse_config leaves when .github/pilot.yml broke while CI ran; fixed since.
    h.at_await_ci(phase=Phase.FAILED, error="invalid .github/pilot.yml")

    await h.command("retry", 901)

    assert "Retrying" in h.host.notes["cmd-901"]
    assert h.host.state["phase"] == "await_ci"
    assert f"cmd:{901}" in h.host.state["handled"]


async def test_an_interrupted_review_fix_still_answers_the_comments(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [])
    first = h.at_await_ci()
    h.host.reviews[57] = ReviewInfo(57, "changes_requested", "One thing.", "bob")
    h.host.comments_of_review[57] = [ReviewComment(911, "greet.py", 2, HUNK_1, "Say Hello.", "bob")]
    fixed = h.push({"greet.py": GREET_V3}, "review-57", "Address @bob's review")
    working = {**WORKING, "node": "review-57", "title": "Address @bob's review"}
    saved = RunState.from_dict(h.host.state)
    saved.phase, saved.handled, saved.working = Phase.EXECUTE, ["review:57"], working
    h.host.saved.append(saved.to_dict())

    await h.handle({"kind": "ci", "sha": first})

    assert h.requests() == [] and h.host.state["ci_sha"] == fixed
    assert h.host.replies == [(911, f"Addressed in {fixed}.")]
