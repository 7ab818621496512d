"""ghsim's Actions subset on real dockerd: failing, fixed and timed-out workflows."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.services import setting, unavailable
from tests.sim_process import (
    Ghsim,
    WebhookReceiver,
    assert_signed,
    run_git,
    running_ghsim,
    write_files,
)

WORKFLOW = """\
name: CI
on:
  push:
    branches: [main]
jobs:
  test:
    name: Unit tests
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
      - name: Run the tests
        run: python3 -m unittest -v
"""
SLOW_WORKFLOW = """\
on: push
jobs:
  slow:
    runs-on: ubuntu-latest
    name: Slow job
    # Fractional minutes keep the test short; GitHub reads timeout-minutes as a number.
    timeout-minutes: 0.05
    steps:
      - run: echo started && sleep 60
"""
FAILING_TEST = """\
import unittest


class TestAdd(unittest.TestCase):
    def test_add(self):
        self.assertEqual(1 + 1, 3)
"""
PASSING_TEST = FAILING_TEST.replace("1 + 1, 3", "1 + 1, 2")
TWO_JOBS = """\
on: push
jobs:
  first:
    runs-on: ubuntu-latest
    steps:
      - run: echo marker-first
  second:
    runs-on: ubuntu-latest
    steps:
      - run: echo marker-second
"""
PUSH_AND_PR = """\
on: [push, pull_request]
jobs:
  quick:
    runs-on: ubuntu-latest
    steps:
      - run: echo quick
"""
LONG_JOB = """\
on: push
jobs:
  long:
    runs-on: ubuntu-latest
    steps:
      - run: echo waiting && sleep 120
"""


def instance_label(data_dir: Path) -> str:
    """The label ghsim puts on the containers of the instance using this data dir."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return f"ghsim.instance={digest}"


def _docker_or_unavailable() -> docker.DockerClient:
    """A client for the dockerd set-up started; ghsim inherits its address and the image."""
    for name in ("DOCKER_HOST", "PILOT_SANDBOX_IMAGE"):
        value = setting(name)
        if value:
            os.environ[name] = value
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException:
        unavailable("dockerd")
        raise
    return client


@pytest.fixture(scope="module")
def docker_client() -> Iterator[docker.DockerClient]:
    client = _docker_or_unavailable()
    yield client
    client.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver().running() as hooks:
        yield hooks


@pytest.fixture(scope="module")
def sim(
    tmp_path_factory: pytest.TempPathFactory,
    receiver: WebhookReceiver,
    docker_client: docker.DockerClient,
) -> Iterator[Ghsim]:
    # Another instance's containers: job ids start at 1 in every data dir, so these carry
    # the job ids this module's jobs get; none of them may be touched.
    image = os.environ.get("PILOT_SANDBOX_IMAGE") or "issue-pilot-sandbox:bookworm-1"
    other = f"someone-else-{uuid.uuid4().hex[:8]}"
    foreign = [
        docker_client.containers.create(
            image, ["sleep", "1"], labels={"ghsim.job": str(n), "ghsim.instance": other}
        )
        for n in range(1, 16)
    ]
    try:
        with running_ghsim(tmp_path_factory.mktemp("ghsim") / "data", receiver.url) as running:
            yield running
        label = instance_label(running.data_dir)
        leftovers = docker_client.containers.list(all=True, filters={"label": label})
        assert leftovers == [], "CI containers were left behind"
        kept = docker_client.containers.list(all=True, filters={"label": f"ghsim.instance={other}"})
        assert len(kept) == len(foreign), "another instance's containers were removed"
    finally:
        for container in foreign:
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass


def _push(sim: Ghsim, work: Path, files: dict[str, str], message: str, branch: str = "main") -> str:
    write_files(work, files)
    run_git(work, "add", ".")
    run_git(work, "commit", "-qm", message)
    url = sim.git_url("alice/" + work.name, "ghp_sim_alice")
    run_git(work, "push", "-q", url, f"HEAD:refs/heads/{branch}")
    return run_git(work, "rev-parse", "HEAD").stdout.strip()


def _job_log(sim: Ghsim, repo: str, sha: str) -> str:
    gh = sim.person("alice")
    runs = gh.rest.actions.list_workflow_runs_for_repo("alice", repo, head_sha=sha).parsed_data
    assert runs.total_count == 1
    jobs = gh.rest.actions.list_jobs_for_workflow_run("alice", repo, runs.workflow_runs[0].id)
    job = jobs.parsed_data.jobs[0]
    return gh.rest.actions.download_job_logs_for_workflow_run("alice", repo, job.id).text


def test_failing_then_fixed_workflow(sim: Ghsim, receiver: WebhookReceiver, tmp_path: Path) -> None:
    gh = sim.person("alice")
    gh.rest.repos.create_for_authenticated_user(name="calc")
    work = tmp_path / "calc"
    work.mkdir()
    run_git(work, "init", "-q")
    red = _push(
        sim,
        work,
        {".github/workflows/ci.yml": WORKFLOW, "test_add.py": FAILING_TEST},
        "Add a failing test",
    )
    failed = receiver.event(
        "check_suite", "completed", timeout=60, where=lambda p: p["check_suite"]["head_sha"] == red
    )
    assert_signed(failed, sim.webhook_secret)
    assert failed.payload["check_suite"]["conclusion"] == "failure"
    assert failed.payload["check_suite"]["app"]["slug"] == "github-actions"
    suites = gh.rest.checks.list_suites_for_ref("alice", "calc", "main").parsed_data
    assert [s.conclusion for s in suites.check_suites] == ["failure"]
    runs = gh.rest.checks.list_for_ref("alice", "calc", red, check_name="Unit tests")
    assert [r.conclusion for r in runs.parsed_data.check_runs] == ["failure"]
    log = _job_log(sim, "calc", red)
    assert "FAIL: test_add (test_add.TestAdd" in log
    assert "AssertionError: 2 != 3" in log
    assert "##[error]Process completed with exit code 1." in log
    receiver.event(
        "workflow_job",
        "completed",
        where=lambda p: (
            p["workflow_job"]["head_sha"] == red and p["workflow_job"]["conclusion"] == "failure"
        ),
    )
    receiver.event(
        "workflow_run",
        "completed",
        where=lambda p: (
            p["workflow_run"]["head_sha"] == red and p["workflow_run"]["conclusion"] == "failure"
        ),
    )

    green = _push(sim, work, {"test_add.py": PASSING_TEST}, "Fix the test")
    passed = receiver.event(
        "check_suite",
        "completed",
        timeout=60,
        where=lambda p: p["check_suite"]["head_sha"] == green,
    )
    assert passed.payload["check_suite"]["conclusion"] == "success"
    assert "OK" in _job_log(sim, "calc", green)
    run = gh.rest.actions.list_workflow_runs_for_repo("alice", "calc", branch="main").parsed_data
    assert [(r.head_sha, r.conclusion, r.run_number) for r in run.workflow_runs] == [
        (green, "success", 2),
        (red, "failure", 1),
    ]
    steps = gh.rest.actions.list_jobs_for_workflow_run("alice", "calc", run.workflow_runs[0].id)
    assert [(s.name, s.conclusion) for s in steps.parsed_data.jobs[0].steps or []] == [
        ("Run actions/checkout@v4", "success"),
        ("Run actions/setup-python@v5", "skipped"),
        ("Run the tests", "success"),
    ]


def test_job_over_its_timeout_ends_timed_out(
    sim: Ghsim, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    sim.person("alice").rest.repos.create_for_authenticated_user(name="slow")
    work = tmp_path / "slow"
    work.mkdir()
    run_git(work, "init", "-q")
    sha = _push(sim, work, {".github/workflows/slow.yaml": SLOW_WORKFLOW}, "A slow job")
    suite = receiver.event(
        "check_suite", "completed", timeout=60, where=lambda p: p["check_suite"]["head_sha"] == sha
    )
    assert suite.payload["check_suite"]["conclusion"] == "timed_out"
    log = _job_log(sim, "slow", sha)
    assert "started" in log
    assert "has exceeded the maximum execution time of 0.05 minutes" in log


def test_rerun_failed_jobs_starts_a_new_attempt(sim: Ghsim, receiver: WebhookReceiver) -> None:
    gh = sim.person("alice")
    runs = gh.rest.actions.list_workflow_runs_for_repo("alice", "slow").parsed_data
    run_id = runs.workflow_runs[0].id
    mark = len(receiver.deliveries)
    assert gh.rest.actions.re_run_workflow_failed_jobs("alice", "slow", run_id).status_code == 201
    done = receiver.event("workflow_run", "completed", timeout=60, after=mark)
    assert done.payload["workflow_run"]["run_attempt"] == 2
    assert done.payload["workflow_run"]["conclusion"] == "timed_out"
    again = gh.rest.actions.get_workflow_run("alice", "slow", run_id).parsed_data
    assert again.run_attempt == 2


def _new_repo(sim: Ghsim, tmp_path: Path, name: str) -> Path:
    sim.person("alice").rest.repos.create_for_authenticated_user(name=name)
    work = tmp_path / name
    work.mkdir()
    run_git(work, "init", "-q")
    return work


def test_job_ids_are_their_check_run_ids(
    sim: Ghsim, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    work = _new_repo(sim, tmp_path, "ids")
    first = _push(sim, work, {"README.md": "hi\n"}, "Start")
    # An App's own check run moves the check run ids ahead of the job ids.
    app = sim.installation()
    app.rest.checks.create("alice", "ids", name="lint", head_sha=first, status="queued")
    sha = _push(sim, work, {".github/workflows/two.yml": TWO_JOBS}, "Two jobs")
    done = receiver.event(
        "check_suite", "completed", timeout=60, where=lambda p: p["check_suite"]["head_sha"] == sha
    )
    gh = sim.person("alice")
    suite_id = done.payload["check_suite"]["id"]
    runs = gh.rest.checks.list_for_suite("alice", "ids", suite_id).parsed_data.check_runs
    assert sorted(r.name for r in runs) == ["first", "second"]
    for check_run in runs:
        log = gh.rest.actions.download_job_logs_for_workflow_run("alice", "ids", check_run.id).text
        assert f"marker-{check_run.name}" in log
        job = gh.rest.actions.get_job_for_workflow_run("alice", "ids", check_run.id).parsed_data
        assert (job.name, job.check_run_url) == (check_run.name, check_run.url)
    completed = receiver.event(
        "check_run",
        "completed",
        where=lambda p: p["check_run"]["head_sha"] == sha and p["check_run"]["name"] == "first",
    )
    job_done = receiver.event(
        "workflow_job",
        "completed",
        where=lambda p: (
            p["workflow_job"]["head_sha"] == sha and p["workflow_job"]["name"] == "first"
        ),
    )
    assert completed.payload["check_run"]["id"] == job_done.payload["workflow_job"]["id"]


def _settled(receiver: WebhookReceiver, sha: str, runs: int) -> list[dict[str, Any]]:
    """The check_suite.completed payloads of a commit once its `runs` workflow runs ended."""

    def finished() -> int:
        return len(
            [
                d
                for d in list(receiver.deliveries)
                if d.event == "workflow_run"
                and d.action == "completed"
                and d.payload["workflow_run"]["head_sha"] == sha
            ]
        )

    deadline = time.monotonic() + 60
    while finished() < runs and time.monotonic() < deadline:
        time.sleep(0.1)
    assert finished() == runs
    time.sleep(1)  # anything sent twice would arrive by now
    return [
        d.payload["check_suite"]
        for d in list(receiver.deliveries)
        if d.event == "check_suite" and d.payload["check_suite"]["head_sha"] == sha
    ]


def test_one_check_suite_per_workflow_run(
    sim: Ghsim, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    work = _new_repo(sim, tmp_path, "suites")
    _push(sim, work, {".github/workflows/ci.yml": PUSH_AND_PR}, "CI")
    sha = _push(sim, work, {"a.txt": "a\n"}, "Feature", branch="feature")
    (pushed,) = _settled(receiver, sha, 1)
    assert pushed["pull_requests"] == [] and pushed["conclusion"] == "success"

    gh = sim.person("alice")
    pull = gh.rest.pulls.create("alice", "suites", title="F", head="feature", base="main")
    number = pull.parsed_data.number
    suites = _settled(receiver, sha, 2)
    assert suites[0]["id"] == pushed["id"] and len({s["id"] for s in suites}) == 2
    assert [p["number"] for p in suites[1]["pull_requests"]] == [number]
    listed = gh.rest.checks.list_suites_for_ref("alice", "suites", sha).parsed_data.check_suites
    assert sorted((s.id, s.status, s.conclusion) for s in listed) == sorted(
        (s["id"], "completed", "success") for s in suites
    )
    runs = gh.rest.actions.list_workflow_runs_for_repo("alice", "suites", head_sha=sha)
    assert sorted(r.check_suite_id for r in runs.parsed_data.workflow_runs) == sorted(
        s["id"] for s in suites
    )

    # A push to a branch with an open pull request: both runs' suites name the pull request.
    again = _push(sim, work, {"b.txt": "b\n"}, "More", branch="feature")
    later = _settled(receiver, again, 2)
    assert len({s["id"] for s in later}) == 2
    assert [[p["number"] for p in s["pull_requests"]] for s in later] == [[number], [number]]


def test_a_killed_ghsim_cancels_the_running_job_on_restart(
    receiver: WebhookReceiver, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    label = instance_label(data_dir)
    restarted = Ghsim(data_dir, receiver.url)
    restarted.start()
    try:
        work = _new_repo(restarted, tmp_path, "restart")
        sha = _push(restarted, work, {".github/workflows/long.yml": LONG_JOB}, "Long")

        def mine(payload: dict[str, Any]) -> bool:
            return bool(payload.get("repository", {}).get("full_name") == "alice/restart")

        receiver.event("workflow_job", "in_progress", timeout=60, where=mine)
        deadline = time.monotonic() + 30
        while "waiting" not in _job_log(restarted, "restart", sha) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert docker_client.containers.list(filters={"label": label})
        mark = len(receiver.deliveries)
        assert restarted.proc is not None
        restarted.proc.kill()
        restarted.proc.wait()
        restarted.proc = None
        restarted.log.close()

        restarted.start()
        for event, key in (
            ("workflow_job", "workflow_job"),
            ("check_run", "check_run"),
            ("workflow_run", "workflow_run"),
            ("check_suite", "check_suite"),
        ):
            done = receiver.event(event, "completed", timeout=30, after=mark, where=mine)
            assert done.payload[key]["conclusion"] == "cancelled", event
        assert docker_client.containers.list(all=True, filters={"label": label}) == []
        assert "ghsim stopped while this job was pending" in _job_log(restarted, "restart", sha)
        gh = restarted.person("alice")
        run = gh.rest.actions.list_workflow_runs_for_repo("alice", "restart").parsed_data
        assert [(r.status, r.conclusion) for r in run.workflow_runs] == [("completed", "cancelled")]
    finally:
        restarted.stop()
