"""Turn a push or pull_request into workflow runs, jobs and check runs, all queued."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ghsim.ci.events import CIEvents
from ghsim.ci.progress import advance, complete_if_done
from ghsim.ci.records import ACTIONS_APP, new_suite, next_run_number, workflow_for
from ghsim.ci.skips import skips_workflows
from ghsim.ci.workflow import InvalidWorkflow, Workflow, WorkflowUnsupported, read_workflow
from ghsim.git_refs import (
    ZERO_SHA,
    Commit,
    diff_paths,
    list_dir,
    new_branch_base,
    read_commit,
    read_file,
    resolve_commit,
)
from ghsim.gitrepo import merge_base
from ghsim.sim import Sim
from ghsim.state import now_iso
from ghsim.store import Doc

log = logging.getLogger("ghsim.ci")
WORKFLOWS_DIR = ".github/workflows"


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
    pull_number: int | None = None
    # A pull request event's action, which `on.pull_request.types` filters.
    action: str | None = None


def trigger_from_event(sim: Sim, event: str, payload: dict[str, Any]) -> Trigger | None:
    repo_id = (payload.get("repository") or {}).get("id")
    sender_id = (payload.get("sender") or {}).get("id")
    if repo_id is None or sender_id is None:
        return None
    if event == "push" and not payload["deleted"] and payload["ref"].startswith("refs/heads/"):
        branch = payload["ref"].removeprefix("refs/heads/")
        before = None if payload["before"] == ZERO_SHA else payload["before"]
        return Trigger(repo_id, "push", payload["after"], branch, branch, before, sender_id)
    # Every action: `on.pull_request.types` decides which run (opened, synchronize and
    # reopened when it names none).
    if event == "pull_request" and payload.get("action"):
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
            pull["number"],
            payload["action"],
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


def workflows_at(git_dir: str, sha: str) -> list[Workflow | InvalidWorkflow]:
    found: list[Workflow | InvalidWorkflow] = []
    for name in sorted(list_dir(git_dir, sha, WORKFLOWS_DIR)):
        if not name.endswith((".yml", ".yaml")):
            continue
        path = f"{WORKFLOWS_DIR}/{name}"
        try:
            found.append(read_workflow(path, read_file(git_dir, sha, path)))
        except WorkflowUnsupported as exc:
            log.warning("%s at %s is not a workflow ghsim can run: %s", path, sha[:7], exc)
    return found


def changed_paths(git_dir: str, trigger: Trigger) -> list[str]:
    """The diff GitHub's `paths` filters read: a pull request's against where it left its base
    (three dots); a push's against what the branch was (two dots), or for a new branch against
    the parent of the deepest commit pushed."""
    if trigger.event == "pull_request":
        base = resolve_commit(git_dir, f"refs/heads/{trigger.filter_branch}")
        if base is None:
            return []
        # Histories with nothing in common (a head force-pushed from elsewhere): the whole
        # difference, as the pull request's own files list reads it.
        start = merge_base(git_dir, base, trigger.sha) or base
        return diff_paths(git_dir, start, trigger.sha)
    before = trigger.before or new_branch_base(git_dir, trigger.sha, trigger.head_branch or "")
    return diff_paths(git_dir, before, trigger.sha)


def approval_required(sim: Sim, repo: Doc) -> bool:
    """New runs wait for a writer's approval (see docs/ghsim.md: the stand-in for GitHub's
    approval of fork pull request runs)."""
    return sim.config.ci_approval_required or bool(repo.get("actions_approval_required"))


def plan(sim: Sim, events: CIEvents, trigger: Trigger) -> list[int]:
    """Create everything a trigger starts and announce it; returns the job ids to run."""
    repo = sim.repo(trigger.repo_id)
    git_dir = sim.git_dir(repo)
    found = workflows_at(git_dir, trigger.sha)
    # The diff is read only when a workflow filters on paths.
    changed = (
        changed_paths(git_dir, trigger)
        if any(w.filters_paths(trigger.event) for w in found)
        else []
    )
    workflows = [
        w
        for w in found
        if w.runs_on_event(trigger.event, trigger.filter_branch, trigger.action, changed)
    ]
    if not workflows:
        return []
    commit = read_commit(git_dir, trigger.sha)
    if skips_workflows(commit.message):
        log.info("%s asks to skip workflows; no run", trigger.sha[:7])
        return []
    head_commit = simple_commit(commit)
    held = approval_required(sim, repo)
    job_ids: list[int] = []
    # Refused files last: their runs are announced completed at once, and a reader of the
    # commit's CI must by then see the other runs queued, not a finished verdict.
    workflows.sort(key=lambda w: isinstance(w, InvalidWorkflow))
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
        # A refused file fails at once, named after its path (GitHub cannot read its
        # `name:`); a held run waits, completed `action_required`, as GitHub reports the
        # fork pull request runs it holds. Neither has jobs.
        ended: str | None
        if isinstance(workflow, InvalidWorkflow):
            log.warning("%s at %s is not valid: %s", workflow.path, trigger.sha[:7], workflow.error)
            ended, name = "failure", workflow.path
        else:
            ended, name = ("action_required" if held else None), workflow.name
        record = workflow_for(sim.store, repo["id"], workflow.path, name)
        now = now_iso()
        run = sim.store.insert(
            "workflow_run",
            {
                "repo_id": repo["id"],
                "workflow_id": record["id"],
                "suite_id": suite["id"],
                "name": name,
                "path": workflow.path,
                "event": trigger.event,
                "head_branch": trigger.head_branch,
                "head_sha": trigger.sha,
                "pull_number": trigger.pull_number,
                "base_ref": trigger.filter_branch if trigger.event == "pull_request" else None,
                "run_number": next_run_number(sim.store, record["id"]),
                "run_attempt": 1,
                "status": "queued" if ended is None else "completed",
                "conclusion": ended,
                "display_title": trigger.title or commit.message.splitlines()[0],
                "actor_id": trigger.actor_id,
                "triggering_actor_id": trigger.actor_id,
                "created_at": now,
                "updated_at": now,
                "run_started_at": now,
                "head_commit": head_commit,
            },
        )
        if ended is not None:
            suite = sim.store.update(
                "check_suite",
                suite["id"],
                {"status": "completed", "conclusion": ended, "updated_at": now},
            )
        events.workflow_run("requested", run)
        if isinstance(workflow, InvalidWorkflow):
            events.workflow_run("completed", run)
            events.check_suite("completed", suite)
            continue
        if held:
            continue
        job_ids += advance(sim, events, run, suite, workflow)
        complete_if_done(sim, events, run, workflow)
    return job_ids
