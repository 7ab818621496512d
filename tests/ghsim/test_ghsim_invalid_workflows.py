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
    runner = NO_RUNNER.replace("    steps", "    runs-on: x\n    steps")
    for matrix in ("${{ fromJSON(needs.a.outputs.m) }}", "{py: '${{ fromJSON(inputs.v) }}'}"):
        matrixed = runner.replace("    steps", f"    strategy:\n      matrix: {matrix}\n    steps")
        with pytest.raises(WorkflowUnsupported, match="expression"):
            parse_workflow("m.yml", matrixed)
    # GitHub's refusals are found past what ghsim cannot run.
    with pytest.raises(WorkflowError, match=r"jobs\.test: Required property is missing: runs-on"):
        parse_workflow("r.yml", REUSED + NO_RUNNER.split("jobs:\n", 1)[1])
    with pytest.raises(WorkflowError, match="Unexpected value 'steps'"):
        parse_workflow("r.yml", REUSED + "    steps: [{run: x}]\n")
    with pytest.raises(WorkflowError, match="both the branches and branches-ignore"):
        parse_workflow(
            "b.yml", runner.replace("on: push", "on: {push: {branches: [a], branches-ignore: [b]}}")
        )
    # A job that needs a reusable workflow's call: the call exists; ghsim just cannot run it.
    with pytest.raises(WorkflowUnsupported):
        parse_workflow(
            "n.yml", REUSED + "  after:\n    runs-on: x\n    needs: call\n    steps: [{run: x}]\n"
        )
    grouped = NO_RUNNER.replace(
        "    steps", "    runs-on: {group: big, labels: [linux]}\n    steps"
    )
    assert parse_workflow("g.yml", grouped).jobs[0].runs_on == ("big", "linux")
    with pytest.raises(WorkflowError, match="Unexpected value 'size'"):
        parse_workflow("g.yml", grouped.replace("group: big", "size: big"))
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
        ".github/workflows/zz-ok.yml": NO_RUNNER.replace("    steps", "    runs-on: x\n    steps"),
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
    # The runnable file's run is announced first, though its file sorts last: whoever reads
    # the commit's CI on a refused run's news finds it queued, not a finished verdict.
    order = [
        (d.event, d.action, (d.payload.get("workflow_run") or {}).get("path"))
        for d in ghsim.receiver.deliveries
        if d.event == "workflow_run" and ours(d.payload)
    ]
    assert order.index(("workflow_run", "requested", ".github/workflows/zz-ok.yml")) < min(
        i for i, (_, action, _) in enumerate(order) if action == "completed"
    )

    listed = alice.rest.actions.list_workflow_runs_for_repo(owner, name, head_sha=sha).json()
    runs = [r for r in listed["workflow_runs"] if r["path"] != ".github/workflows/zz-ok.yml"]
    assert len(listed["workflow_runs"]) == 3  # nothing for pulls.yml nor reuse.yml
    found = sorted((r["path"], r["name"], r["status"], r["conclusion"]) for r in runs)
    assert found == [
        (".github/workflows/broken.yml", ".github/workflows/broken.yml", "completed", "failure"),
        (".github/workflows/ci.yml", ".github/workflows/ci.yml", "completed", "failure"),
    ]
    for run in runs:
        jobs = alice.rest.actions.list_jobs_for_workflow_run(owner, name, run["id"]).json()
        assert jobs["total_count"] == 0
        with pytest.raises(RequestFailed) as refused:
            alice.rest.actions.re_run_workflow_failed_jobs(owner, name, run["id"])
        assert refused.value.response.status_code == 403
    suites = alice.rest.checks.list_suites_for_ref(owner, name, sha).json()["check_suites"]
    theirs = {r["check_suite_id"] for r in runs}
    assert sorted(
        (s["status"], s["conclusion"], s["latest_check_runs_count"])
        for s in suites
        if s["id"] in theirs
    ) == [("completed", "failure", 0), ("completed", "failure", 0)]
    checks = alice.rest.checks.list_for_ref(owner, name, sha).json()["check_runs"]
    assert [c["name"] for c in checks] == ["test"]  # zz-ok.yml's job alone
