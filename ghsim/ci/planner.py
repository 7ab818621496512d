"""Turn a push or pull_request into workflow runs, jobs and check runs, all queued."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ghsim.ci.events import CIEvents
from ghsim.ci.records import (
    ACTIONS_APP,
    create_check_run,
    new_suite,
    next_run_number,
    workflow_for,
)
from ghsim.ci.workflow import Job, Workflow, WorkflowError, parse_workflow
from ghsim.git_refs import ZERO_SHA, Commit, list_dir, read_commit, read_file
from ghsim.sim import Sim
from ghsim.state import now_iso
from ghsim.store import Doc

log = logging.getLogger("ghsim.ci")
WORKFLOWS_DIR = ".github/workflows"
PR_ACTIONS = ("opened", "synchronize", "reopened")


@dataclass(frozen=True)
class Trigger:
    repo_id: int
    event: str
    sha: str
    head_branch: str | None
    # The branch `on.<event>.branches` filters look at: pushed branch or PR base branch.
    filter_branch: str | None
    before: str | None
    actor_id: int
    title: str | None = None


def trigger_from_event(sim: Sim, event: str, payload: dict[str, Any]) -> Trigger | None:
    repo_id = (payload.get("repository") or {}).get("id")
    sender_id = (payload.get("sender") or {}).get("id")
    if repo_id is None or sender_id is None:
        return None
    if event == "push" and not payload["deleted"] and payload["ref"].startswith("refs/heads/"):
        branch = payload["ref"].removeprefix("refs/heads/")
        before = None if payload["before"] == ZERO_SHA else payload["before"]
        return Trigger(repo_id, "push", payload["after"], branch, branch, before, sender_id)
    if event == "pull_request" and payload.get("action") in PR_ACTIONS:
        pull = payload["pull_request"]
        return Trigger(
            repo_id,
            "pull_request",
            pull["head"]["sha"],
            pull["head"]["ref"],
            pull["base"]["ref"],
            payload.get("before"),
            sender_id,
            pull["title"],
        )
    return None


def simple_commit(commit: Commit) -> dict[str, Any]:
    return {
        "id": commit.sha,
        "tree_id": commit.tree,
        "message": commit.message,
        "timestamp": commit.committer_date,
        "author": {"name": commit.author_name, "email": commit.author_email},
        "committer": {"name": commit.committer_name, "email": commit.committer_email},
    }


def workflows_at(git_dir: str, sha: str) -> list[Workflow]:
    found = []
    for name in sorted(list_dir(git_dir, sha, WORKFLOWS_DIR)):
        if not name.endswith((".yml", ".yaml")):
            continue
        path = f"{WORKFLOWS_DIR}/{name}"
        try:
            found.append(parse_workflow(path, read_file(git_dir, sha, path).decode()))
        except (WorkflowError, UnicodeDecodeError) as exc:
            log.warning("%s at %s is not a workflow ghsim can run: %s", path, sha[:7], exc)
    return found


def plan(sim: Sim, events: CIEvents, trigger: Trigger) -> list[int]:
    """Create everything a trigger starts and announce it; returns the job ids to run."""
    repo = sim.repo(trigger.repo_id)
    git_dir = sim.git_dir(repo)
    workflows = [
        w
        for w in workflows_at(git_dir, trigger.sha)
        if w.runs_on_event(trigger.event, trigger.filter_branch)
    ]
    if not workflows:
        return []
    commit = read_commit(git_dir, trigger.sha)
    head_commit = simple_commit(commit)
    job_ids: list[int] = []
    for workflow in workflows:
        # GitHub Actions gives every workflow run a check suite of its own.
        suite = new_suite(
            sim.store,
            repo["id"],
            ACTIONS_APP,
            trigger.sha,
            head_branch=trigger.head_branch,
            before=trigger.before,
            head_commit=head_commit,
        )
        record = workflow_for(sim.store, repo["id"], workflow.path, workflow.name)
        now = now_iso()
        run = sim.store.insert(
            "workflow_run",
            {
                "repo_id": repo["id"],
                "workflow_id": record["id"],
                "suite_id": suite["id"],
                "name": workflow.name,
                "path": workflow.path,
                "event": trigger.event,
                "head_branch": trigger.head_branch,
                "head_sha": trigger.sha,
                "run_number": next_run_number(sim.store, record["id"]),
                "run_attempt": 1,
                "status": "queued",
                "conclusion": None,
                "display_title": trigger.title or commit.message.splitlines()[0],
                "actor_id": trigger.actor_id,
                "triggering_actor_id": trigger.actor_id,
                "created_at": now,
                "updated_at": now,
                "run_started_at": now,
                "head_commit": head_commit,
            },
        )
        events.workflow_run("requested", run)
        job_ids += [queue_job(sim, events, run, suite, job)["id"] for job in workflow.jobs]
    return job_ids


def queue_job(sim: Sim, events: CIEvents, run: Doc, suite: Doc, job: Job) -> Doc:
    """A queued job of a run attempt, with its check run, both announced."""
    check_run = create_check_run(sim.store, suite, job.name)
    # On GitHub a job's id is its check run's id (job logs are fetched by check run id).
    record = sim.store.insert(
        "workflow_job",
        {
            "repo_id": run["repo_id"],
            "run_id": run["id"],
            "run_attempt": run["run_attempt"],
            "check_run_id": check_run["id"],
            "job_key": job.key,
            "name": job.name,
            "status": "queued",
            "conclusion": None,
            "created_at": now_iso(),
            "started_at": None,
            "completed_at": None,
            "steps": [],
            "head_sha": run["head_sha"],
            "head_branch": run["head_branch"],
            "workflow_name": run["name"],
            "labels": list(job.runs_on),
        },
        doc_id=check_run["id"],
    )
    api = f"{sim.config.base_url}/{sim.repo(run['repo_id'])['full_name']}"
    check_run = sim.store.update(
        "check_run",
        check_run["id"],
        {
            "details_url": f"{api}/actions/runs/{run['id']}/job/{record['id']}",
            "job_id": record["id"],
        },
    )
    events.check_run("created", check_run)
    events.workflow_job("queued", record)
    return record
