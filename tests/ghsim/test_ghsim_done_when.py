"""Issue 3's "Done when", as a person would do it with githubkit and git against ghsim.

Create a repository, push a small Python project with a workflow, open an issue and label
it, and receive each signed webhook; a push with a failing test gives a failed check suite
whose job log shows the failing test; a fixing push turns it green.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ghsim.test_ghsim_ci import _docker_or_unavailable
from tests.sim_process import (
    Ghsim,
    WebhookReceiver,
    assert_signed,
    run_git,
    running_ghsim,
    write_files,
)

PROJECT = {
    "README.md": "# greet\n",
    "greet.py": "def greet(name):\n    return f'Hello, {name}!'\n",
    "test_greet.py": (
        "import unittest\n\nfrom greet import greet\n\n\n"
        "class TestGreet(unittest.TestCase):\n"
        "    def test_greet(self):\n"
        "        self.assertEqual(greet('Ada'), 'Hello, Ada!')\n"
    ),
    ".github/workflows/test.yml": (
        "name: test\n"
        "on: [push, pull_request]\n"
        "jobs:\n"
        "  unittest:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: python3 -m unittest -v\n"
    ),
}


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[Ghsim, WebhookReceiver]]:
    _docker_or_unavailable().close()
    with (
        WebhookReceiver().running() as hooks,
        running_ghsim(tmp_path / "data", hooks.url) as running,
    ):
        yield running, hooks


def _suite_conclusion(hooks: WebhookReceiver, sha: str) -> str:
    done = hooks.event(
        "check_suite", "completed", timeout=60, where=lambda p: p["check_suite"]["head_sha"] == sha
    )
    return str(done.payload["check_suite"]["conclusion"])


def _log_of(sim: Ghsim, sha: str) -> str:
    gh = sim.person("ada")
    run = gh.rest.actions.list_workflow_runs_for_repo("ada", "greet", head_sha=sha)
    run_id = run.parsed_data.workflow_runs[0].id
    job = gh.rest.actions.list_jobs_for_workflow_run("ada", "greet", run_id).parsed_data.jobs[0]
    return gh.rest.actions.download_job_logs_for_workflow_run("ada", "greet", job.id).text


def test_done_when(sim: tuple[Ghsim, WebhookReceiver], tmp_path: Path) -> None:
    ghsim, hooks = sim
    gh = ghsim.person("ada")
    repo = gh.rest.repos.create_for_authenticated_user(name="greet").parsed_data
    work = tmp_path / "greet"
    work.mkdir()
    run_git(work, "init", "-q")
    write_files(work, PROJECT)
    run_git(work, "add", ".")
    run_git(work, "commit", "-qm", "A greeting project")
    run_git(work, "push", "-q", ghsim.git_url(repo.full_name, "ghp_sim_ada"), "main")
    first = run_git(work, "rev-parse", "HEAD").stdout.strip()

    issue = gh.rest.issues.create("ada", "greet", title="Greet in French").parsed_data
    gh.rest.issues.add_labels("ada", "greet", issue.number, labels=["pilot"])

    expected = [
        ("push", None),
        ("create", None),
        ("issues", "opened"),
        ("issues", "labeled"),
        ("workflow_run", "requested"),
        ("check_run", "created"),
        ("workflow_job", "queued"),
        ("check_run", "completed"),
        ("workflow_run", "completed"),
        ("check_suite", "completed"),
    ]
    for event, action in expected:
        delivery = hooks.event(event, action, timeout=60)
        assert_signed(delivery, ghsim.webhook_secret)
        assert delivery.headers["X-GitHub-Delivery"]
    labeled = hooks.event("issues", "labeled")
    assert labeled.payload["label"]["name"] == "pilot"
    assert _suite_conclusion(hooks, first) == "success"

    write_files(work, {"greet.py": "def greet(name):\n    return f'Bonjour, {name}!'\n"})
    run_git(work, "commit", "-qam", "Greet in French")
    run_git(work, "push", "-q", ghsim.git_url(repo.full_name, "ghp_sim_ada"), "main")
    red = run_git(work, "rev-parse", "HEAD").stdout.strip()
    assert _suite_conclusion(hooks, red) == "failure"
    suites = gh.rest.checks.list_suites_for_ref("ada", "greet", red).parsed_data.check_suites
    assert [s.conclusion for s in suites] == ["failure"]
    log = _log_of(ghsim, red)
    assert "FAIL: test_greet (test_greet.TestGreet" in log
    assert "AssertionError: 'Bonjour, Ada!' != 'Hello, Ada!'" in log

    write_files(work, {"test_greet.py": PROJECT["test_greet.py"].replace("Hello", "Bonjour")})
    run_git(work, "commit", "-qam", "Expect the French greeting")
    run_git(work, "push", "-q", ghsim.git_url(repo.full_name, "ghp_sim_ada"), "main")
    green = run_git(work, "rev-parse", "HEAD").stdout.strip()
    assert _suite_conclusion(hooks, green) == "success"
    status = gh.rest.checks.list_suites_for_ref("ada", "greet", "main").parsed_data
    assert [s.conclusion for s in status.check_suites] == ["success"]
