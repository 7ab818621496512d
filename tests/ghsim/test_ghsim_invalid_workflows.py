"""Workflow files GitHub refuses: each push they would run on gets a run named after the file,
completed `failure` with no jobs ("This run likely failed because of a workflow file issue"),
and its check suite likewise. A valid file outside ghsim's subset starts no run at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from githubkit.exception import RequestFailed

from ghsim.ci.workflow import (
    InvalidWorkflow,
    Workflow,
    WorkflowError,
    WorkflowUnsupported,
    parse_workflow,
    read_workflow,
)
from tests.ghsim_support import Ghsim, push_files, unique

NO_RUNNER = "name: CI\non: push\njobs:\n  test:\n    steps:\n      - run: 'true'\n"
BAD_YAML = "name: Broken\non: push\njobs:\n  test:\n    runs-on: [ubuntu-latest\n"
PULLS_ONLY = "on: pull_request\njobs:\n  test:\n    steps:\n      - run: 'true'\n"
REUSED = "on: push\njobs:\n  call:\n    uses: ./.github/workflows/shared.yml\n"


def test_a_job_without_runs_on_is_refused_in_githubs_words() -> None:
    with pytest.raises(WorkflowError, match=r"jobs\.test: Required property is missing: runs-on"):
        parse_workflow("ci.yml", NO_RUNNER)
    with pytest.raises(WorkflowUnsupported, match="reusable workflow"):
        parse_workflow("reuse.yml", REUSED)
    timed = NO_RUNNER.replace(
        "    steps", "    runs-on: x\n    timeout-minutes: ${{ 5 }}\n    steps"
    )
    with pytest.raises(WorkflowUnsupported, match="expression"):
        parse_workflow("timed.yml", timed)
    job = parse_workflow("ci.yml", NO_RUNNER.replace("    steps", "    runs-on: x\n    steps"))
    assert job.jobs[0].runs_on == ("x",)


def test_a_refused_file_keeps_the_triggers_it_names() -> None:
    refused = read_workflow("p.yml", PULLS_ONLY.encode())
    assert isinstance(refused, InvalidWorkflow)
    assert refused.runs_on_event("pull_request", "main")
    assert not refused.runs_on_event("push", "main")
    # Unreadable YAML, or bytes that are not text: GitHub cannot tell; it fails every push.
    for text in (BAD_YAML.encode(), b"\xff\xfe on: push"):
        unreadable = read_workflow("b.yml", text)
        assert isinstance(unreadable, InvalidWorkflow)
        assert unreadable.runs_on_event("push", "any/branch")
        assert not unreadable.runs_on_event("pull_request", "main")
    assert isinstance(
        read_workflow("ok.yml", NO_RUNNER.replace("steps", "runs-on: x\n    steps").encode()),
        Workflow,
    )


def test_a_push_of_refused_files_makes_failed_runs_without_jobs(
    ghsim: Ghsim, tmp_path: Path
) -> None:
    owner, name = unique("wf"), unique("refused")
    alice = ghsim.person(owner)
    alice.rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    files = {
        ".github/workflows/ci.yml": NO_RUNNER,
        ".github/workflows/broken.yml": BAD_YAML,
        ".github/workflows/pulls.yml": PULLS_ONLY,
        ".github/workflows/reuse.yml": REUSED,
    }
    sha = push_files(ghsim, f"{owner}/{name}", f"ghp_sim_{owner}", "main", files, tmp_path)

    def ours(payload: dict[str, object]) -> bool:
        run = payload.get("workflow_run") or payload.get("check_suite") or {}
        return isinstance(run, dict) and run.get("head_sha") == sha

    for path in (".github/workflows/broken.yml", ".github/workflows/ci.yml"):
        done = ghsim.receiver.wait_for(
            "workflow_run",
            "completed",
            lambda p, path=path: ours(p) and p["workflow_run"]["path"] == path,  # type: ignore[misc]
        )
        assert done.payload["workflow_run"]["name"] == path
        assert done.payload["workflow_run"]["conclusion"] == "failure"
    ghsim.receiver.wait_for("check_suite", "completed", ours)

    runs = alice.rest.actions.list_workflow_runs_for_repo(owner, name, head_sha=sha).json()
    found = sorted(
        (r["path"], r["name"], r["status"], r["conclusion"]) for r in runs["workflow_runs"]
    )
    assert found == [
        (".github/workflows/broken.yml", ".github/workflows/broken.yml", "completed", "failure"),
        (".github/workflows/ci.yml", ".github/workflows/ci.yml", "completed", "failure"),
    ]
    for run in runs["workflow_runs"]:
        jobs = alice.rest.actions.list_jobs_for_workflow_run(owner, name, run["id"]).json()
        assert jobs["total_count"] == 0
        with pytest.raises(RequestFailed) as refused:
            alice.rest.actions.re_run_workflow_failed_jobs(owner, name, run["id"])
        assert refused.value.response.status_code == 403
    suites = alice.rest.checks.list_suites_for_ref(owner, name, sha).json()["check_suites"]
    assert sorted((s["status"], s["conclusion"], s["latest_check_runs_count"]) for s in suites) == [
        ("completed", "failure", 0),
        ("completed", "failure", 0),
    ]
    assert alice.rest.checks.list_for_ref(owner, name, sha).json()["total_count"] == 0
