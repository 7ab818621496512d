"""CI results, ready-for-review and reviews through `GitHubKitApp` against a real ghsim.

One repository for the module: its CI jobs (real containers) start when the module's first
test runs, the tests that need no CI run meanwhile, and the ones reading CI come last.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from githubkit.cache import MemCacheStrategy

from bot.github.api import CheckRunInfo, Repo
from bot.github.backend import GitHubKitApp, InstallationClient
from bot.github.ci_report import failure_notes, verdict
from tests.ghsim_support import Ghsim, GhsimProcess, Receiver, push_files, unique
from tests.services import setting, unavailable

CI_BRANCH = "pilot/issue-1-ci"
FEATURE = "pilot/issue-2-feature"
WORKFLOW = """\
on: push
jobs:
  unit:
    runs-on: ubuntu-latest
    name: Unit tests
    steps:
      - run: |
          echo "collecting tests"
          echo "AssertionError: boom"
          exit 1
  lint:
    runs-on: ubuntu-latest
    name: Lint
    steps:
      - run: echo lint-ok
"""
CI_TIMEOUT = 60
GREET = "def greet():\n    return 'bonjour'\n\n\nprint(greet())\n"


def _process_env(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {key: value for key, _, value in pairs}


def _docker_available(host: str | None) -> bool:
    import docker

    try:
        client = docker.DockerClient(base_url=host) if host else docker.from_env()
        try:
            return bool(client.ping())
        finally:
            client.close()
    except docker.errors.DockerException:
        return False


@pytest.fixture(scope="module")
def sim(ghsim: Ghsim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ghsim]:
    """The session ghsim when it can reach dockerd, else one of this module's own that can."""
    docker_host = setting("DOCKER_HOST")
    if not _docker_available(docker_host):
        unavailable("dockerd")
    proc = ghsim.process.proc
    assert proc is not None
    if docker_host is None or _process_env(proc.pid).get("DOCKER_HOST") == docker_host:
        yield ghsim
        return
    # The session ghsim was started without the set-up's environment (`uv run pytest`).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", docker_host)
        image = setting("PILOT_SANDBOX_IMAGE")
        if image:
            patch.setenv("PILOT_SANDBOX_IMAGE", image)
        receiver = Receiver().start()
        data = tmp_path_factory.mktemp("ghsim-ci") / "data"
        process = GhsimProcess(data, receiver.url).start()
    try:
        yield Ghsim(process, receiver)
    finally:
        process.stop()
        receiver.stop()


@dataclass(frozen=True)
class Seeded:
    repo: Repo
    ci_sha: str
    feature_sha: str


@pytest.fixture(scope="module")
def seeded(sim: Ghsim, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """A repository whose CI branch runs a failing and a passing job; a feature branch too."""
    alice = sim.person("alice")
    name = unique("ci")
    alice.rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    full_name = f"alice/{name}"
    work = tmp_path_factory.mktemp("ci")
    ci_sha = push_files(
        sim, full_name, "ghp_sim_alice", CI_BRANCH, {".github/workflows/ci.yml": WORKFLOW}, work
    )
    feature_sha = push_files(sim, full_name, "ghp_sim_alice", FEATURE, {"greet.py": GREET}, work)
    return Seeded(Repo("alice", name), ci_sha, feature_sha)


@pytest.fixture
async def app(sim: Ghsim) -> AsyncIterator[GitHubKitApp]:
    github = GitHubKitApp(
        int(sim.app_info["app_id"]),
        sim.private_key,
        sim.api_url,
        cache_strategy=MemCacheStrategy(),
        auto_retry=False,
    )
    yield github
    await github.aclose()


@pytest.fixture
async def gh(app: GitHubKitApp, seeded: Seeded) -> InstallationClient:
    return await app.client(seeded.repo, None)


async def _completed_checks(
    gh: InstallationClient, repo: Repo, sha: str, names: set[str]
) -> list[CheckRunInfo]:
    deadline = time.monotonic() + CI_TIMEOUT
    while True:
        runs = await gh.check_runs(repo, sha)
        done = {r.name for r in runs if r.status == "completed"}
        if names <= done:
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(f"CI did not finish: {runs}")
        await asyncio.sleep(0.2)


async def test_pull_has_its_node_id(gh: InstallationClient, seeded: Seeded) -> None:
    created = await gh.create_pull(seeded.repo, FEATURE, "main", "Greet", "Closes #2")
    assert created.node_id
    pull = await gh.pull(seeded.repo, created.number)
    assert pull == created
    assert (pull.head_ref, pull.head_sha, pull.draft) == (FEATURE, seeded.feature_sha, True)
    assert await gh.find_pull(seeded.repo, FEATURE) == pull


async def test_mark_ready_for_review(gh: InstallationClient, seeded: Seeded, sim: Ghsim) -> None:
    pull = await gh.find_pull(seeded.repo, FEATURE)
    assert pull is not None and pull.draft
    await gh.mark_ready_for_review(seeded.repo, pull.number)
    alice = sim.person("alice")
    rest = alice.rest.pulls.get(seeded.repo.owner, seeded.repo.name, pull.number).parsed_data
    assert rest.draft is False
    assert not (await gh.pull(seeded.repo, pull.number)).draft
    await gh.mark_ready_for_review(seeded.repo, pull.number)  # already ready: nothing to do
    assert not (await gh.pull(seeded.repo, pull.number)).draft


async def test_review_its_comments_and_a_reply(
    app: GitHubKitApp, gh: InstallationClient, seeded: Seeded, sim: Ghsim
) -> None:
    pull = await gh.find_pull(seeded.repo, FEATURE)
    assert pull is not None
    alice = sim.person("alice")
    owner, name = seeded.repo.owner, seeded.repo.name
    made = alice.rest.pulls.create_review(
        owner,
        name,
        pull.number,
        event="REQUEST_CHANGES",
        body="Please say hello in English too.",
        comments=[{"path": "greet.py", "line": 2, "body": "Not only French, please."}],
    ).parsed_data

    review = await gh.review(seeded.repo, pull.number, made.id)
    assert (review.id, review.state, review.author) == (made.id, "CHANGES_REQUESTED", "alice")
    assert review.body == "Please say hello in English too."

    comments = await gh.review_comments(seeded.repo, pull.number, made.id)
    assert len(comments) == 1
    comment = comments[0]
    assert (comment.path, comment.line, comment.author) == ("greet.py", 2, "alice")
    assert comment.body == "Not only French, please."
    assert comment.diff_hunk.startswith("@@") and "bonjour" in comment.diff_hunk

    reply = await gh.reply_to_review_comment(seeded.repo, pull.number, comment.id, "Done.")
    assert reply.author == await app.bot_login()
    assert (reply.path, reply.line, reply.body) == ("greet.py", 2, "Done.")
    listed = alice.rest.pulls.get_review_comment(owner, name, reply.id).parsed_data
    assert listed.in_reply_to_id == comment.id
    # The reply sits in a review of its own; the person's review still holds one comment.
    assert await gh.review_comments(seeded.repo, pull.number, made.id) == comments
    assert await gh.review_comments(seeded.repo, pull.number, 987654) == []


async def test_a_pulls_reviews_and_commits_for_its_outcome(
    gh: InstallationClient, seeded: Seeded
) -> None:
    """What a run reads when its pull request closes (bot/run/outcomes.py)."""
    pull = await gh.find_pull(seeded.repo, FEATURE)
    assert pull is not None
    reviews = await gh.pull_reviews(seeded.repo, pull.number)
    assert ("CHANGES_REQUESTED", "alice") in [(r.state, r.author) for r in reviews]
    commits = await gh.pull_commits(seeded.repo, pull.number)
    assert commits and commits[-1].sha == seeded.feature_sha
    assert not commits[-1].merge and commits[-1].author_email


async def test_commit_statuses_latest_per_context(
    gh: InstallationClient, seeded: Seeded, sim: Ghsim
) -> None:
    alice = sim.person("alice")
    owner, name, sha = seeded.repo.owner, seeded.repo.name, seeded.feature_sha
    assert await gh.commit_statuses(seeded.repo, sha) == []
    alice.rest.repos.create_commit_status(owner, name, sha, state="pending", context="ci/ext")
    alice.rest.repos.create_commit_status(
        owner,
        name,
        sha,
        state="failure",
        context="deploy",
        description="preview failed",
        target_url="https://ci.example/deploy/1",
    )
    alice.rest.repos.create_commit_status(owner, name, sha, state="success", context="ci/ext")
    statuses = {s.context: s for s in await gh.commit_statuses(seeded.repo, sha)}
    assert set(statuses) == {"ci/ext", "deploy"}
    assert statuses["ci/ext"].state == "success"
    deploy = statuses["deploy"]
    assert (deploy.state, deploy.description, deploy.target_url, deploy.creator) == (
        "failure",
        "preview failed",
        "https://ci.example/deploy/1",
        "alice",
    )
    result = verdict([], list(statuses.values()), "issue-pilot")
    assert (result.state, result.failing, result.passing) == ("red", ["deploy"], ["ci/ext"])


async def test_check_runs_of_a_workflow(gh: InstallationClient, seeded: Seeded) -> None:
    runs = await _completed_checks(gh, seeded.repo, seeded.ci_sha, {"Unit tests", "Lint"})
    by_name = {r.name: r for r in runs}
    assert set(by_name) == {"Unit tests", "Lint"}
    assert by_name["Unit tests"].conclusion == "failure"
    assert by_name["Lint"].conclusion == "success"
    assert {r.app_slug for r in runs} == {"github-actions"}
    assert all(r.html_url and r.id for r in runs)
    assert await gh.check_runs(seeded.repo, seeded.feature_sha) == []


async def test_failed_job_logs_hold_only_the_failed_job(
    gh: InstallationClient, seeded: Seeded, app: GitHubKitApp
) -> None:
    runs = await _completed_checks(gh, seeded.repo, seeded.ci_sha, {"Unit tests", "Lint"})
    logs = await gh.failed_job_logs(seeded.repo, seeded.ci_sha)
    assert [(j.name, j.conclusion) for j in logs] == [("Unit tests", "failure")]
    assert "AssertionError: boom" in logs[0].log
    assert "lint-ok" not in logs[0].log
    assert await gh.failed_job_logs(seeded.repo, seeded.feature_sha) == []

    # Our own App's check runs never count as the repository's CI.
    own_slug = (await app.bot_login()).removesuffix("[bot]")
    ours = CheckRunInfo(10**9, "pilot", "in_progress", None, own_slug, "", "", "", "")
    result = verdict([*runs, ours], [], own_slug)
    assert (result.state, result.failing, result.passing) == ("red", ["Unit tests"], ["Lint"])
    notes = failure_notes(result, runs, logs)
    assert len(notes) == 1 and "AssertionError: boom" in notes[0]
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", notes[0])  # runner timestamps are gone


async def test_job_logs_hold_every_job_that_ran_to_its_end(
    gh: InstallationClient, seeded: Seeded
) -> None:
    await _completed_checks(gh, seeded.repo, seeded.ci_sha, {"Unit tests", "Lint"})
    logs = {j.name: j for j in await gh.job_logs(seeded.repo, seeded.ci_sha)}
    assert {name: j.conclusion for name, j in logs.items()} == {
        "Lint": "success",
        "Unit tests": "failure",
    }
    assert "lint-ok" in logs["Lint"].log and "AssertionError: boom" in logs["Unit tests"].log
    assert len(await gh.job_logs(seeded.repo, seeded.ci_sha, limit=1)) == 1
    assert await gh.job_logs(seeded.repo, seeded.feature_sha) == []


def _run_json(run_id: int, path: str) -> dict[str, Any]:
    return {"id": run_id, "path": path, "head_sha": "c0ffee"}


def _job_json(
    job_id: int, name: str, conclusion: str | None, status: str = "completed"
) -> dict[str, Any]:
    return {"id": job_id, "name": name, "status": status, "conclusion": conclusion}


def _check_json(run_id: int, name: str, conclusion: str | None, app: str | None) -> dict[str, Any]:
    output = {"title": None, "summary": "sum", "text": None}
    return {
        "id": run_id,
        "name": name,
        "status": "completed",
        "conclusion": conclusion,
        "app": None if app is None else {"slug": app},
        "output": output,
        "html_url": None,
    }


def _github_answers(seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    """GitHub's answers for conclusions githubkit's models lack, re-runs and expired logs."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "logs.example":
            return httpx.Response(200, text=f"log of {request.url.path}\n")
        path = request.url.path.removeprefix("/api/v3")
        if request.method == "POST" and path == "/app/installations/7/access_tokens":
            body = {"token": "ghs_unit", "expires_at": "2099-01-01T00:00:00Z", "permissions": {}}
            return httpx.Response(201, json=body)
        if path == "/repos/octo/cat/commits/c0ffee/check-runs":
            runs = [
                _check_json(3, "build", "startup_failure", "github-actions"),
                _check_json(2, "old", "stale", None),
            ]
            return httpx.Response(200, json={"total_count": 2, "check_runs": runs})
        if path == "/repos/octo/cat/actions/runs":
            assert request.url.params["head_sha"] == "c0ffee"
            runs = [_run_json(10, "ci.yml"), _run_json(11, "ci.yml"), _run_json(12, "lint.yml")]
            return httpx.Response(200, json={"total_count": 3, "workflow_runs": runs})
        jobs = {
            # The push run failed "tests"; the newer pull request run passed it.
            10: [_job_json(100, "tests", "failure"), _job_json(101, "build", "timed_out")],
            11: [_job_json(110, "tests", "success"), _job_json(111, "build", "startup_failure")],
            12: [_job_json(120, "lint", "failure"), _job_json(121, "slow", None, "in_progress")],
        }
        for run_id, listed in jobs.items():
            if path == f"/repos/octo/cat/actions/runs/{run_id}/jobs":
                return httpx.Response(200, json={"total_count": len(listed), "jobs": listed})
        if path == "/repos/octo/cat/actions/jobs/111/logs":
            return httpx.Response(302, headers={"Location": "https://logs.example/job-111.txt"})
        if path == "/repos/octo/cat/actions/jobs/120/logs":
            return httpx.Response(410, json={"message": "Gone"})
        return httpx.Response(404, json={"message": "Not Found"})

    return handle


async def test_unmodelled_conclusions_reruns_and_expired_logs(app_private_key: str) -> None:
    seen: list[httpx.Request] = []
    app = GitHubKitApp(
        1,
        app_private_key,
        "https://github.test/api/v3",
        transport=httpx.MockTransport(_github_answers(seen)),
        cache_strategy=MemCacheStrategy(),
        auto_retry=False,
    )
    try:
        gh = app.for_installation(7)
        repo = Repo("octo", "cat")
        runs = await gh.check_runs(repo, "c0ffee")
        assert [(r.name, r.conclusion, r.app_slug, r.summary) for r in runs] == [
            ("build", "startup_failure", "github-actions", "sum"),
            ("old", "stale", "", "sum"),
        ]
        assert verdict(runs, [], "issue-pilot").failing == ["old", "build"]

        logs = await gh.failed_job_logs(repo, "c0ffee")
        assert [(j.job_id, j.name, j.conclusion, j.log) for j in logs] == [
            (111, "build", "startup_failure", "log of /job-111.txt\n"),
            (120, "lint", "failure", ""),
        ]
        storage = [r for r in seen if r.url.host == "logs.example"]
        assert len(storage) == 1 and "authorization" not in storage[0].headers
    finally:
        await app.aclose()


async def test_a_branch_head_and_a_re_run_of_failed_jobs(
    gh: InstallationClient, seeded: Seeded
) -> None:
    """What the CI triage reads and asks for (bot/run/phases/ci_rerun.py)."""
    assert await gh.branch_sha(seeded.repo, CI_BRANCH) == seeded.ci_sha
    assert await gh.branch_sha(seeded.repo, "no-such-branch") is None
    await _completed_checks(gh, seeded.repo, seeded.ci_sha, {"Unit tests", "Lint"})
    deadline = time.monotonic() + CI_TIMEOUT
    while (runs := await gh.workflow_runs(seeded.repo, seeded.ci_sha))[0].status != "completed":
        assert time.monotonic() < deadline, runs
        await asyncio.sleep(0.2)
    [first] = runs
    assert (first.conclusion, first.run_attempt) == ("failure", 1)

    assert await gh.rerun_failed_jobs(seeded.repo, first.id) is True

    [again] = await gh.workflow_runs(seeded.repo, seeded.ci_sha)
    assert again.id == first.id and again.run_attempt == 2
    while (runs := await gh.workflow_runs(seeded.repo, seeded.ci_sha))[0].status != "completed":
        assert time.monotonic() < deadline + CI_TIMEOUT, runs
        await asyncio.sleep(0.2)
    assert runs[0].conclusion == "failure"  # `exit 1` fails every attempt
    assert await gh.rerun_failed_jobs(seeded.repo, 10**9) is False  # no such run
