"""An in-memory RunHost and a local bare git repository as a run's remote, for controller tests."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest

from bot.agent.llm import OpenAICompatibleLLM, RetryPolicy
from bot.dev.scripted_model import ScriptedModel
from bot.run.host import IssueNow, IssueRef, PullRef, RunTarget
from bot.run.report import StatusReport
from bot.run.state import RunState
from bot.sandbox.api import Sandbox, Sandboxes, SandboxSession, SandboxSpec
from tests.services import setting, unavailable
from tests.stack_support import docker_client

IMAGE = setting("PILOT_SANDBOX_IMAGE", "issue-pilot-sandbox:bookworm-1") or ""

AUTHOR = ("pilot-test[bot]", "pilot-test@example.test")


class PullRefused(Exception):
    """What GitHub answers 422 for when a pull request is created."""


@dataclass
class Pull:
    branch: str
    base: str
    title: str
    body: str
    number: int


@dataclass
class MemoryRunHost:
    """Keeps what a run writes: every saved state (as its dict), every note, the pull request."""

    remote: Path
    issue: IssueRef
    config: str | None = None
    base_branch: str = "main"
    author_identity: tuple[str, str] = AUTHOR
    saved: list[dict[str, Any]] = field(default_factory=list)
    reports: list[StatusReport] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    post_calls: list[str] = field(default_factory=list)
    pulls: list[Pull] = field(default_factory=list)
    open_calls: int = 0
    removed_labels: list[str] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    replies: list[tuple[int, str]] = field(default_factory=list)
    # What CI and reviewers said, set by a test: per commit sha, and per review id.
    check_runs_of: dict[str, list[Any]] = field(default_factory=dict)
    statuses_of: dict[str, list[Any]] = field(default_factory=dict)
    job_logs_of: dict[str, list[Any]] = field(default_factory=dict)
    workflow_runs_of: dict[str, list[Any]] = field(default_factory=dict)
    suites_of: dict[str, list[Any]] = field(default_factory=dict)
    # Workflow runs whose failed jobs the run asked to re-run, and those GitHub refuses.
    reruns: list[int] = field(default_factory=list)
    rerun_refused: set[int] = field(default_factory=set)
    reviews: dict[int, Any] = field(default_factory=dict)
    comments_of_review: dict[int, list[Any]] = field(default_factory=dict)
    pull_commits_of: list[Any] = field(default_factory=list)  # the PR's commits, oldest first
    note_numbers: dict[str, int | None] = field(default_factory=dict)
    pull_updates: list[tuple[int, str]] = field(default_factory=list)
    # Who wrote the issue, and the role of each login (anyone unnamed has write).
    issue_author_login: str = "alice"
    roles: dict[str, str] = field(default_factory=dict)
    # The issue as GitHub has it: a test closes it or takes the label off.
    issue_open: bool = True
    issue_labels: tuple[str, ...] = ("pilot",)

    async def issue_now(self) -> IssueNow:
        return IssueNow(self.issue_open, self.issue_labels)

    async def target(self) -> RunTarget:
        return RunTarget(
            key=f"memory{self.remote}",
            remote_url=str(self.remote),
            base_branch=self.base_branch,
            issue=self.issue,
        )

    async def load_state(self) -> RunState | None:
        return RunState.from_dict(self.saved[-1]) if self.saved else None

    async def save_state(self, state: RunState, report: StatusReport) -> None:
        self.saved.append(state.to_dict())
        self.reports.append(report)

    async def post_once(self, key: str, body: str, number: int | None = None) -> None:
        self.post_calls.append(key)
        self.notes.setdefault(key, body)
        self.note_numbers.setdefault(key, number)

    async def remove_label(self, name: str) -> None:
        self.removed_labels.append(name)

    async def app_slug(self) -> str:
        return "issue-pilot"

    async def check_runs(self, sha: str) -> list[Any]:
        return list(self.check_runs_of.get(sha, []))

    async def commit_statuses(self, sha: str) -> list[Any]:
        return list(self.statuses_of.get(sha, []))

    async def failed_job_logs(self, sha: str) -> list[Any]:
        return list(self.job_logs_of.get(sha, []))

    async def job_logs(self, sha: str) -> list[Any]:
        return list(self.job_logs_of.get(sha, []))

    async def workflow_runs(self, sha: str) -> list[Any]:
        return list(self.workflow_runs_of.get(sha, []))

    async def check_suites(self, sha: str) -> list[Any]:
        return list(self.suites_of.get(sha, []))

    async def branch_sha(self, branch: str) -> str | None:
        return branches(self.remote).get(branch)

    async def changed_files(self, base: str, head: str) -> list[str]:
        return sorted(set(git(self.remote, "diff", "--name-only", f"{base}...{head}").split()))

    async def rerun_failed_jobs(self, run_id: int) -> bool:
        self.reruns.append(run_id)
        return run_id not in self.rerun_refused

    async def mark_ready(self, number: int) -> None:
        self.ready.append(number)

    async def review(self, number: int, review_id: int) -> Any:
        if review_id not in self.reviews:
            raise LookupError(f"no review {review_id} on #{number}")
        return self.reviews[review_id]

    async def review_comments(self, number: int, review_id: int) -> list[Any]:
        return list(self.comments_of_review.get(review_id, []))

    async def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> None:
        self.replies.append((comment_id, body))

    async def pull_reviews(self, number: int) -> list[Any]:
        return list(self.reviews.values())

    async def pull_commits(self, number: int) -> list[Any]:
        return list(self.pull_commits_of)

    async def read_config(self, ref: str) -> str | None:
        assert ref == self.base_branch
        return self.config

    async def git_token(self) -> str | None:
        return None

    async def author(self) -> tuple[str, str]:
        return self.author_identity

    async def issue_author(self) -> str:
        return self.issue_author_login

    async def permission(self, login: str) -> str:
        return self.roles.get(login, "write")

    async def open_pull(self, branch: str, base: str, title: str, body: str) -> PullRef:
        """Refuses what GitHub refuses (422): a head not on the remote, or no commits ahead."""
        self.open_calls += 1
        on_remote = branches(self.remote)
        if branch not in on_remote or base not in on_remote:
            raise PullRefused(f"head or base missing on the remote: {branch}, {base}")
        if int(git(self.remote, "rev-list", "--count", f"{base}..{branch}")) == 0:
            raise PullRefused(f"No commits between {base} and {branch}")
        for pull in self.pulls:
            if pull.branch == branch:
                return PullRef(pull.number, f"https://example.test/pull/{pull.number}")
        pull = Pull(branch, base, title, body, number=len(self.pulls) + 100)
        self.pulls.append(pull)
        return PullRef(pull.number, f"https://example.test/pull/{pull.number}")

    async def retitle_pull(self, number: int, title: str) -> None:
        for pull in self.pulls:
            if pull.number == number:
                pull.title = title

    async def update_pull(self, number: int, body: str) -> None:
        self.pull_updates.append((number, body))
        for pull in self.pulls:
            if pull.number == number:
                pull.body = body

    @property
    def phases(self) -> list[str]:
        return [s["phase"] for s in self.saved]

    @property
    def state(self) -> dict[str, Any]:
        return self.saved[-1]


class CountingSandboxes:
    """Real sandboxes, with a count of the sessions opened and the phases each one ran."""

    def __init__(self, inner: Sandboxes) -> None:
        self.inner = inner
        self.sessions = 0
        self.phases: list[str] = []

    @asynccontextmanager
    async def session(
        self,
        spec: SandboxSpec,
        tree_tar: bytes | None = None,
        *,
        pack: bytes | None = None,
        commit: str | None = None,
    ) -> AsyncIterator[SandboxSession]:
        self.sessions += 1
        async with self.inner.session(spec, tree_tar, pack=pack, commit=commit) as session:
            yield _CountingSession(session, self.phases)


class _CountingSession:
    def __init__(self, inner: SandboxSession, phases: list[str]) -> None:
        self._inner, self._phases = inner, phases

    @asynccontextmanager
    async def phase(self, name: str, network: bool = False) -> AsyncIterator[Sandbox]:
        self._phases.append(name)
        async with self._inner.phase(name, network) as sandbox:
            yield sandbox


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_AUTHOR_NAME": "Alice",
        "GIT_AUTHOR_EMAIL": "alice@example.test",
        "GIT_COMMITTER_NAME": "Alice",
        "GIT_COMMITTER_EMAIL": "alice@example.test",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def make_remote(tmp: Path, files: dict[str, str]) -> Path:
    """A bare repository with one commit of `files` on `main`."""
    remote = tmp / "remote.git"
    git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    work = tmp / "seed"
    git(tmp, "init", "--quiet", "--initial-branch=main", str(work))
    write_files(work, files)
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "Initial commit")
    git(work, "push", "--quiet", str(remote), "main")
    return remote


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def branches(remote: Path) -> dict[str, str]:
    """Branch name → sha on the remote."""
    out = git(remote, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
    return dict(line.split(" ", 1) for line in out.splitlines())


def commits(remote: Path, branch: str, base: str = "main") -> list[dict[str, str]]:
    """The branch's commits since `base`, oldest first: sha, parent, author, email, message."""
    fmt = "%H%x1f%P%x1f%an%x1f%ae%x1f%cn%x1f%B%x1e"
    out = git(remote, "log", "--reverse", f"--format={fmt}", f"{base}..{branch}")
    found = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, parent, name, email, committer, message = record.split("\x1f")
        found.append(
            {
                "sha": sha,
                "parent": parent,
                "author": name,
                "email": email,
                "committer": committer,
                "message": message,
            }
        )
    return found


def file_at(remote: Path, ref: str, path: str) -> str | None:
    try:
        return git(remote, "show", f"{ref}:{path}")
    except RuntimeError:
        return None


def call(name: str, **arguments: Any) -> dict[str, Any]:
    """One scripted model answer calling `name`."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def node(node_id: str, title: str, depends_on: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": node_id,
        "title": title,
        "description": f"{title}.",
        "acceptance": [f"{title} is done"],
        "depends_on": depends_on or [],
    }


def plan_call(*nodes: dict[str, Any]) -> dict[str, Any]:
    return call("submit_plan", requirements=list(nodes))


# Fixtures for controller tests: one scripted model and docker client per module.
@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as served:
        yield served


@pytest.fixture(scope="module")
def docker_api() -> Iterator[docker.DockerClient]:
    client = docker_client()
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        unavailable(f"the sandbox image {IMAGE}")
    yield client
    client.close()


@pytest.fixture
async def llm(model: ScriptedModel) -> AsyncIterator[OpenAICompatibleLLM]:
    retry = RetryPolicy(tries=2, base_delay_s=0.01, max_delay_s=0.01)
    async with OpenAICompatibleLLM(
        base_url=model.base_url, model="scripted", api_key="scripted", timeout_s=30, retry=retry
    ) as client:
        yield client
