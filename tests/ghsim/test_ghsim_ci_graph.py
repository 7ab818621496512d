"""ghsim's Actions as GitHub runs them, on real dockerd: `needs:`, matrices, job `if:`,
expressions, skip markers and runs held for approval; every shape parsed by githubkit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from githubkit.exception import RequestFailed

from tests.ghsim.test_ghsim_ci import _new_repo, _push, docker_client, receiver, sim
from tests.sim_process import Ghsim, WebhookReceiver

__all__ = ["docker_client", "receiver", "sim"]  # module fixtures shared with test_ghsim_ci

GRAPH = """\
name: Graph
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: Build for ${{ github.actor }}
        run: echo "built ${{ github.ref }} ${{ github.event_name }} ${{ github.repository }}"
  test:
    runs-on: ubuntu-latest
    needs: build
    strategy:
      matrix:
        python: ["3.11", "3.12"]
        os: [ubuntu]
    steps:
      - run: echo "py=${{ matrix.python }}" && test "${{ matrix.python }}" = "3.11"
  deploy:
    runs-on: ubuntu-latest
    needs: test
    steps: [{run: echo deploy}]
  report:
    runs-on: ubuntu-latest
    needs: [test]
    if: ${{ failure() }}
    steps: [{run: echo report}]
  never:
    runs-on: ubuntu-latest
    if: github.event_name == 'pull_request'
    steps: [{run: echo never}]
"""
QUICK = """\
name: Quick
on: push
jobs:
  quick:
    runs-on: ubuntu-latest
    steps: [{run: echo quick}]
"""


def _completed(receiver: WebhookReceiver, sha: str, after: int = 0) -> dict[str, Any]:
    delivery = receiver.event(
        "workflow_run",
        "completed",
        timeout=120,
        after=after,
        where=lambda p: p["workflow_run"]["head_sha"] == sha,
    )
    return dict(delivery.payload["workflow_run"])


def _index(receiver: WebhookReceiver, event: str, action: str, name: str, sha: str) -> int:
    for i, d in enumerate(list(receiver.deliveries)):
        body = d.payload.get(event) or {}
        if (d.event, d.action, body.get("name"), body.get("head_sha")) == (
            event,
            action,
            name,
            sha,
        ):
            return i
    raise AssertionError(f"no {event}.{action} for {name}")


def test_needs_matrix_and_if_run_as_on_github(
    sim: Ghsim, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    work = _new_repo(sim, tmp_path, "graph")
    sha = _push(sim, work, {".github/workflows/graph.yml": GRAPH}, "Graph")
    run = _completed(receiver, sha)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    gh = sim.person("alice")
    checks = gh.rest.checks.list_for_ref("alice", "graph", sha).parsed_data.check_runs
    found = {c.name: c.conclusion for c in checks}
    assert found == {
        "build": "success",
        "test (3.11, ubuntu)": "success",
        "test (3.12, ubuntu)": "failure",
        "deploy": "skipped",  # a needed job failed
        "report": "success",  # failure() lets it go on
        "never": "skipped",  # its if: is false
    }
    # A job's check run appears only once what it needs has completed.
    built = _index(receiver, "check_run", "completed", "build", sha)
    assert _index(receiver, "check_run", "created", "test (3.11, ubuntu)", sha) > built
    tested = _index(receiver, "check_run", "completed", "test (3.12, ubuntu)", sha)
    assert _index(receiver, "check_run", "created", "deploy", sha) > tested
    # Shapes githubkit parses: runs, suites, jobs.
    runs = gh.rest.actions.list_workflow_runs_for_repo("alice", "graph", head_sha=sha).parsed_data
    assert [r.conclusion for r in runs.workflow_runs] == ["failure"]
    suites = gh.rest.checks.list_suites_for_ref("alice", "graph", sha).parsed_data.check_suites
    assert [(s.status, s.conclusion, s.latest_check_runs_count) for s in suites] == [
        ("completed", "failure", 6)
    ]
    jobs = gh.rest.actions.list_jobs_for_workflow_run("alice", "graph", run["id"]).parsed_data
    by_name = {j.name: j for j in jobs.jobs}
    log = gh.rest.actions.download_job_logs_for_workflow_run(
        "alice", "graph", by_name["build"].id
    ).text
    assert "built refs/heads/main push alice/graph" in log
    assert [s.name for s in by_name["build"].steps or []] == ["Build for alice"]
    failed_log = gh.rest.actions.download_job_logs_for_workflow_run(
        "alice", "graph", by_name["test (3.12, ubuntu)"].id
    ).text
    assert "py=3.12" in failed_log


def test_re_running_failed_jobs_decides_their_dependents_again(
    sim: Ghsim, receiver: WebhookReceiver
) -> None:
    gh = sim.person("alice")
    [run] = gh.rest.actions.list_workflow_runs_for_repo("alice", "graph").parsed_data.workflow_runs
    mark = len(receiver.deliveries)
    gh.rest.actions.re_run_workflow_failed_jobs("alice", "graph", run.id)
    again = _completed(receiver, run.head_sha, after=mark)
    assert (again["run_attempt"], again["conclusion"]) == (2, "failure")
    jobs = gh.rest.actions.list_jobs_for_workflow_run("alice", "graph", run.id).parsed_data.jobs
    assert {j.name: j.conclusion for j in jobs}["deploy"] == "skipped"
    assert len([j for j in jobs if j.name == "test (3.12, ubuntu)"]) == 1


@pytest.mark.parametrize(
    "message", ["Docs only [skip ci]", "Docs\n\nskip-checks: true", "[actions skip] docs"]
)
def test_skip_markers_start_no_workflow_run(
    sim: Ghsim, receiver: WebhookReceiver, tmp_path: Path, message: str
) -> None:
    name = f"skips-{abs(hash(message)) % 10_000}"
    work = _new_repo(sim, tmp_path, name)
    sha = _push(sim, work, {".github/workflows/quick.yml": QUICK}, message)
    receiver.event("push", timeout=30, where=lambda p: p.get("after") == sha)
    time.sleep(3)
    gh = sim.person("alice")
    runs = gh.rest.actions.list_workflow_runs_for_repo("alice", name, head_sha=sha).parsed_data
    assert runs.total_count == 0
    assert gh.rest.checks.list_for_ref("alice", name, sha).parsed_data.total_count == 0


def test_held_runs_wait_for_approval_through_the_api(
    sim: Ghsim, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    work = _new_repo(sim, tmp_path, "held")
    switch = f"{sim.api_url.rstrip('/')}/_ghsim/repos/alice/held/actions/approval"
    mallory = {"Authorization": "token ghp_sim_mallory"}
    assert httpx.put(switch, json={"required": True}, headers=mallory).status_code == 403
    alice = {"Authorization": "token ghp_sim_alice"}
    assert httpx.put(switch, json={"required": True}, headers=alice).status_code == 204
    sha = _push(sim, work, {".github/workflows/quick.yml": QUICK}, "Quick")
    requested = receiver.event(
        "workflow_run", "requested", where=lambda p: p["workflow_run"]["head_sha"] == sha
    ).payload["workflow_run"]
    assert (requested["status"], requested["conclusion"]) == ("completed", "action_required")
    gh = sim.person("alice")
    [run] = gh.rest.actions.list_workflow_runs_for_repo(
        "alice", "held", head_sha=sha
    ).parsed_data.workflow_runs
    assert (run.status, run.conclusion) == ("completed", "action_required")
    assert (
        gh.rest.actions.list_jobs_for_workflow_run("alice", "held", run.id).parsed_data.jobs == []
    )
    assert gh.rest.checks.list_for_ref("alice", "held", sha).parsed_data.total_count == 0
    with pytest.raises(RequestFailed) as refused:
        sim.person("mallory").rest.actions.approve_workflow_run("alice", "held", run.id)
    assert refused.value.response.status_code == 403
    mark = len(receiver.deliveries)
    assert gh.rest.actions.approve_workflow_run("alice", "held", run.id).status_code == 201
    done = _completed(receiver, sha, after=mark)
    assert (done["id"], done["conclusion"]) == (run.id, "success")
    with pytest.raises(RequestFailed) as again:
        gh.rest.actions.approve_workflow_run("alice", "held", run.id)
    assert again.value.response.status_code == 403
