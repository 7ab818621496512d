"""Runs that no lost event, wiped Redis, repeated request or late stop leaves stuck, wiped or
doubled, end to end on ghsim (real Redis, dockerd, git over HTTP, the scripted model)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.ghsim_support import wait_until
from tests.run.test_ci_loop_on_ghsim import (
    CALC_FIXED,
    CALC_STILL_WRONG,
    PLAN,
    Repo,
    call,
    write,
)
from tests.stack_support import Stack

INTERVAL_S = 2


@pytest.fixture
def stack_env() -> dict[str, str]:
    return {"PILOT_RECONCILE_INTERVAL_S": str(INTERVAL_S)}


def branches(repo: Repo) -> list[str]:
    found = repo.alice.rest.repos.list_branches("alice", repo.name).parsed_data
    return sorted(b.name for b in found)


def ci_done(repo: Repo, sha: str) -> bool:
    runs = repo.check_runs(sha)
    return bool(runs) and all(r.status == "completed" for r in runs)


def replay(stack: Stack, event: str, action: str) -> None:
    """The newest delivery of `event`/`action` posted again, signed, under a new id: what
    someone holding a captured body can do."""
    app = stack.sim.app()
    deliveries = app.rest.apps.list_webhook_deliveries(per_page=100).parsed_data
    [first, *_] = [d for d in deliveries if d.event == event and d.action == action]
    full = app.rest.apps.get_webhook_delivery(first.id).json()
    body = json.dumps(full["request"]["payload"]).encode()
    secret = str(stack.sim.app_info["webhook_secret"]).encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert stack.sim.webhook_url is not None
    answer = httpx.post(
        stack.sim.webhook_url,
        content=body,
        headers={
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": signature,
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 202


def test_a_wiped_redis_and_a_restarted_worker_while_ci_runs_still_fix_red_ci(
    stack: Stack, tmp_path: Path
) -> None:
    stack.model.set_script([PLAN, *write(CALC_STILL_WRONG), *write(CALC_FIXED, "fixed")])
    repo = Repo(stack, tmp_path)
    repo.label()
    waiting = repo.wait_phase("await_ci", timeout=120)
    stack.kill_worker()
    # CI finishes red while no worker runs; then Redis loses everything, the web app's
    # queued news of that CI included.
    wait_until(lambda: ci_done(repo, waiting["ci_sha"]), 120, "the first CI to finish")
    redis.Redis.from_url(stack.env["PILOT_REDIS_URL"]).flushdb()
    stack.start_worker()

    state = repo.wait_phase("ready", timeout=180)

    assert state["ci_attempt"] == 2
    assert repo.file("calc.py", repo.pull().head.ref) == CALC_FIXED
    assert "run index rebuilt from GitHub" in stack.log_text("worker")


def test_c_a_request_on_a_waiting_run_keeps_its_state(stack: Stack, tmp_path: Path) -> None:
    stack.model.set_script([PLAN, call("ask_human", question="Add or subtract?")])
    repo = Repo(stack, tmp_path)
    repo.label()
    before = repo.wait_phase("asked", timeout=120)
    comments = repo.bot_comments(repo.number)

    repo.comment(repo.number, "/pilot run")
    replay(stack, "issues", "labeled")
    time.sleep(3 * INTERVAL_S)

    assert repo.state() == before
    # The command's eyes are a reaction, not a comment; the question is not asked twice.
    assert repo.bot_comments(repo.number) == comments
    assert len(stack.model.requests()) == 2


def test_d_an_issue_closed_while_its_run_is_queued_gets_no_branch(
    stack: Stack, tmp_path: Path
) -> None:
    stack.model.set_script([PLAN, *write(CALC_FIXED)])
    stack.kill_worker()
    repo = Repo(stack, tmp_path)
    # Labelled, then closed before any worker took the label's delivery.
    repo.label()
    repo.alice.rest.issues.update("alice", repo.name, repo.number, state="closed")
    time.sleep(1)
    stack.start_worker()

    state = repo.wait_phase("stopped", timeout=60)

    assert "closed" in repo.bot_comments(repo.number)[0]
    assert branches(repo) == ["main"]
    assert stack.model.requests() == [] and state.get("branch") is None


def test_e_a_pull_request_closed_during_a_fix_gets_no_later_push(
    stack: Stack, tmp_path: Path
) -> None:
    slow_fix: dict[str, Any] = {
        **call("write_file", path="calc.py", content=CALC_FIXED),
        "delay_s": 15,
    }
    stack.model.set_script([PLAN, *write(CALC_STILL_WRONG), slow_fix, call("finish", summary="ok")])
    repo = Repo(stack, tmp_path)
    repo.label()
    wait_until(lambda: len(stack.model.requests()) >= 4, 180, "the CI fix's first model call")
    pr = repo.pull()
    head = pr.head.sha
    repo.alice.rest.pulls.update("alice", repo.name, pr.number, state="closed")

    state = repo.wait_phase("closed", timeout=60)
    time.sleep(3 * INTERVAL_S)

    branch = repo.alice.rest.repos.get_branch("alice", repo.name, pr.head.ref).parsed_data
    assert branch.commit.sha == head
    assert repo.state()["phase"] == "closed" and state["outcome"] == "rejected"
    assert not any("ready for review" in b for b in repo.bot_comments(pr.number))


def test_f_two_workers_and_redis_paused_mid_session_push_once(stack: Stack, tmp_path: Path) -> None:
    slow_write: dict[str, Any] = {
        **call("write_file", path="calc.py", content=CALC_FIXED),
        "delay_s": 12,
    }
    stack.model.set_script(
        [PLAN, slow_write, *write(CALC_FIXED, "fixed"), call("finish", summary="fixed")]
    )
    second = stack._spawn("worker", name="worker2")
    try:
        repo = Repo(stack, tmp_path)
        repo.label()
        wait_until(lambda: len(stack.model.requests()) >= 2, 120, "the node's first model call")
        # Every client waits 8 s, the lease keys' time passing meanwhile: its holder must
        # give the run up before anyone else may take it.
        redis.Redis.from_url(stack.env["PILOT_REDIS_URL"]).execute_command(
            "CLIENT", "PAUSE", "8000", "ALL"
        )
        state = repo.wait_phase("ready", timeout=240)
    finally:
        second.terminate()
        second.wait(20)

    logs = stack.log_text("worker") + stack.log_text("worker2")
    assert "lease lost" in logs
    assert "git push failed" not in logs and "rejected" not in logs
    assert repo.file("calc.py", repo.pull().head.ref) == CALC_FIXED
    assert state["ci_attempt"] == 1
    commits = repo.alice.rest.repos.list_commits("alice", repo.name, sha=repo.pull().head.ref)
    # One commit for the node: nobody pushed the same step twice.
    assert sum("Pilot-Node: R1" in c.commit.message for c in commits.parsed_data) == 1
