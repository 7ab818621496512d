"""GitHub failing a run's requests (after the client's own retries), driven through the
Controller and the job's failsafe as the run worker calls them: the workspace on a local bare
repository, sandboxes in a temp dir, the scripted model, the status outbox in real Redis."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq import Retry

from bot.agent.llm import OpenAICompatibleLLM
from bot.core.branches import branch_name
from bot.dev.scripted_model import ScriptedModel
from bot.github.api import GitHubApiError
from bot.github.status_comment import parse_state, render_status
from bot.github.workspace import Workspace
from bot.run.controller import Controller
from bot.run.deps import RunDeps
from bot.run.failsafe import OUTAGE_DEFER_S, OUTAGE_TRIES, guarded
from bot.run.host import IssueRef, PullRef
from bot.run.report import StatusReport
from bot.run.state import Phase, RunState
from bot.run.status_outbox import StatusOutbox
from tests.run_fakes import (
    CountingSandboxes,
    MemoryRunHost,
    branches,
    call,
    commits,
    make_remote,
    node,
    plan_call,
)
from tests.sandbox_fake import LocalSandboxes

ISSUE = IssueRef(7, "Greet people by name", "We need a greet(name) function.")
BRANCH = branch_name(ISSUE.number, ISSUE.title)
FILES = {"README.md": "# greeter\n"}
GREET = 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'
R1 = node("R1", "Add greet()")
SCRIPT = [
    plan_call(R1),
    call("write_file", path="greet.py", content=GREET),
    call("finish", summary="greet() added."),
]
PATCH_FAILED = GitHubApiError("PATCH", "/repos/alice/greeter/issues/comments/9", 502, "Bad Gateway")


@dataclass
class FlakyHost(MemoryRunHost):
    """A MemoryRunHost whose GitHub fails as a test says: pull requests refused `pull_errors`
    times; status edits refused while `edits_down`, or from the first save of a phase in
    `down_from` on; the status comment unreadable while `reads_down`. A refused edit stays
    pending, as `GitHubRunHost`'s coalesced edits do."""

    pull_errors: list[Exception] = field(default_factory=list)
    edits_down: bool = False
    down_from: set[str] = field(default_factory=set)
    reads_down: bool = False
    pending: str | None = None

    async def load_state(self) -> RunState | None:
        if self.reads_down:
            raise GitHubApiError("GET", "/repos/alice/greeter/issues/7/comments", None, "timed out")
        return await super().load_state()

    async def open_pull(self, branch: str, base: str, title: str, body: str) -> PullRef:
        if self.pull_errors:
            raise self.pull_errors.pop(0)
        return await super().open_pull(branch, base, title, body)

    async def save_state(self, state: RunState, report: StatusReport) -> None:
        self.pending = render_status(
            report.headline, state.to_dict(), report.checklist, report.facts
        )
        if state.phase.value in self.down_from:
            self.edits_down = True
        await self.flush()

    async def flush(self) -> None:
        if self.pending is None:
            return
        if self.edits_down:
            raise PATCH_FAILED
        data = parse_state(self.pending)
        assert data is not None
        self.saved.append(data)
        self.pending = None

    @property
    def unsaved(self) -> str | None:
        return self.pending

    async def write_unsaved(self, body: str) -> None:
        self.pending = body
        await self.flush()


@dataclass
class Harness:
    host: FlakyHost
    remote: Path
    model: ScriptedModel
    deps: RunDeps
    run_id: str
    outbox: StatusOutbox

    async def job(self, event: dict[str, Any] | None = None, job_try: int = 1) -> RunState | None:
        """One run job through the failsafe: a start (no event) or an event."""
        self.host.pending = None  # each job has a host of its own
        sender = "alice" if event is None else str(event.get("sender") or "")
        controller = Controller(self.deps, self.host, self.run_id, sender)

        async def work() -> RunState | None:
            return await (controller.run() if event is None else controller.handle(event))

        return await guarded(work, self.deps, self.host, self.run_id, sender, self.outbox, job_try)

    async def retry(self, comment_id: int) -> RunState | None:
        command = {"kind": "command", "name": "retry", "sender": "alice", "args": ""}
        return await self.job({**command, "comment_id": comment_id, "number": ISSUE.number})

    def failure_note(self) -> str:
        [note] = [body for key, body in self.host.notes.items() if key.startswith("failed-")]
        return note


@pytest.fixture
def harness(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM, redis: aioredis.Redis
) -> Harness:
    remote = make_remote(tmp_path, FILES)
    host = FlakyHost(remote=remote, issue=ISSUE)
    run_id = f"test-api-errors-{uuid.uuid4().hex[:8]}"
    deps = RunDeps(
        llm=llm,
        sandboxes=CountingSandboxes(LocalSandboxes()),
        workspace=Workspace(tmp_path / "cache"),
        runs_dir=tmp_path / "runs",
        sandbox_image="unused",
    )
    model.set_script(list(SCRIPT))
    return Harness(host, remote, model, deps, run_id, StatusOutbox(redis, run_id))


def nodes_on_branch(h: Harness) -> list[str]:
    return [c["message"].rsplit("Pilot-Node: ", 1)[1].strip() for c in commits(h.remote, BRANCH)]


async def test_a_refused_request_fails_the_phase_and_retry_resumes_it(harness: Harness) -> None:
    h = harness
    h.host.pull_errors = [GitHubApiError("POST", "/repos/alice/greeter/pulls", 502, "Server Error")]

    failed = await h.job()

    assert failed is not None and failed.phase is Phase.FAILED, h.host.notes
    assert h.host.state["phase"] == "failed"
    assert h.host.state["error"] == (
        "a GitHub request failed: POST /repos/alice/greeter/pulls answered 502"
    )
    note = h.failure_note()
    assert "POST /repos/alice/greeter/pulls" in note and "502" in note
    assert "Server Error" in note and "retry` starts this phase again" in note
    assert nodes_on_branch(h) == ["R1"] and h.host.pulls == []
    asked = len(h.model.requests())

    resumed = await h.retry(501)

    assert resumed is not None and resumed.phase is Phase.AWAIT_CI, h.host.notes
    assert "Retrying" in h.host.notes["cmd-501"]
    assert len(h.host.pulls) == 1 and h.host.state["pr_number"] == h.host.pulls[0].number
    assert "error" not in h.host.state
    # Resumed where it stopped: the pushed node is not done again, the model not asked again.
    assert nodes_on_branch(h) == ["R1"] and len(h.model.requests()) == asked


async def test_when_edits_fail_too_the_failure_waits_in_the_outbox_for_the_next_job(
    harness: Harness, redis: aioredis.Redis
) -> None:
    h = harness
    h.host.down_from = {"pull_request"}  # edits fail from the save before the PR on

    with pytest.raises(Retry) as retried:
        await h.job()

    assert retried.value.defer_score == OUTAGE_DEFER_S * 1000
    # The comment (a POST) went out; the status comment still shows the working phase.
    assert "PATCH /repos/alice/greeter/issues/comments/9" in h.failure_note()
    assert "Bad Gateway" in h.failure_note()
    assert h.host.state["phase"] == "execute"
    kept = parse_state((await redis.get(f"pilot:status_outbox:{h.run_id}")).decode())
    assert kept is not None and kept["phase"] == "failed"

    # Still down: the next job keeps it and is tried again later; a third gives up.
    h.host.down_from = set()
    with pytest.raises(Retry):
        await h.job(job_try=2)
    assert await h.job({"kind": "ci", "sha": "0" * 40}, job_try=OUTAGE_TRIES) is None
    assert h.host.state["phase"] == "execute"

    h.host.edits_down = False  # GitHub is back: the next job writes FAILED first
    state = await h.job({"kind": "ci", "sha": "0" * 40})

    assert state is not None and state.phase is Phase.FAILED
    assert h.host.state["phase"] == "failed" and "PATCH" in h.host.state["error"]
    assert await redis.get(f"pilot:status_outbox:{h.run_id}") is None

    resumed = await h.retry(502)

    assert resumed is not None and resumed.phase is Phase.AWAIT_CI, h.host.notes
    assert len(h.host.pulls) == 1 and nodes_on_branch(h) == ["R1"]


async def test_an_unexpected_error_fails_the_run_with_a_comment(harness: Harness) -> None:
    h = harness
    h.host.pull_errors = [KeyError("head")]

    failed = await h.job()

    assert failed is not None and failed.phase is Phase.FAILED
    assert h.host.state["phase"] == "failed"
    assert h.host.state["error"] == "an unexpected error stopped the run (KeyError)"
    assert "KeyError: 'head'" in h.failure_note()

    resumed = await h.retry(503)

    assert resumed is not None and resumed.phase is Phase.AWAIT_CI
    assert len(h.host.pulls) == 1 and list(branches(h.remote)) == ["main", BRANCH]


async def test_github_failing_before_any_work_tries_the_job_again(harness: Harness) -> None:
    h = harness
    h.host.saved.append(RunState(ISSUE.number, "alice", Phase.EXECUTE).to_dict())
    h.host.reads_down = True

    with pytest.raises(Retry):
        await h.job({"kind": "ci", "sha": "0" * 40})

    assert h.host.notes == {} and h.model.requests() == []
