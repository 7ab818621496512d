"""ghsim's Actions subset on real dockerd: failing, fixed and timed-out workflows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import docker
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
    with running_ghsim(tmp_path_factory.mktemp("ghsim") / "data", receiver.url) as running:
        yield running
    leftovers = docker_client.containers.list(all=True, filters={"label": "ghsim.job"})
    assert leftovers == [], "CI containers were left behind"


def _push(sim: Ghsim, work: Path, files: dict[str, str], message: str) -> str:
    write_files(work, files)
    run_git(work, "add", ".")
    run_git(work, "commit", "-qm", message)
    run_git(work, "push", "-q", sim.git_url("alice/" + work.name, "ghp_sim_alice"), "main")
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
