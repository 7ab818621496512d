"""CI state in ghsim's store: check suites and runs, workflows, workflow runs, jobs, statuses."""

from __future__ import annotations

from typing import Any

from ghsim.state import now_iso
from ghsim.store import Doc, Store

ACTIONS_APP = "github-actions"
# GitHub's order: a suite takes the first of these that any of its check runs has.
_SUITE_CONCLUSIONS = (
    "action_required",
    "cancelled",
    "timed_out",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
)


def suite_for(store: Store, repo_id: int, app: str, head_sha: str, **fields: Any) -> Doc:
    """The one check suite per head commit of an App's own check runs, created on first use."""
    with store.transaction():
        suite = store.first("check_suite", repo_id=repo_id, app=app, head_sha=head_sha)
        if suite is not None:
            return suite
        return new_suite(store, repo_id, app, head_sha, **fields)


def new_suite(store: Store, repo_id: int, app: str, head_sha: str, **fields: Any) -> Doc:
    """A new queued check suite (Actions makes one per workflow run)."""
    now = now_iso()
    return store.insert(
        "check_suite",
        {
            "repo_id": repo_id,
            "app": app,
            "head_sha": head_sha,
            "head_branch": None,
            "before": None,
            "after": head_sha,
            "status": "queued",
            "conclusion": None,
            "created_at": now,
            "updated_at": now,
            **fields,
        },
    )


def create_check_run(store: Store, suite: Doc, name: str, **fields: Any) -> Doc:
    now = now_iso()
    doc: Doc = {
        "repo_id": suite["repo_id"],
        "suite_id": suite["id"],
        "app": suite["app"],
        "head_sha": suite["head_sha"],
        "name": name,
        "status": "queued",
        "conclusion": None,
        "started_at": now,
        "completed_at": None,
        "external_id": "",
        "details_url": None,
        "output": {"title": None, "summary": None, "text": None},
        "created_at": now,
    }
    doc.update(fields)
    run = store.insert("check_run", doc)
    reopen_suite(store, suite["id"])
    return run


def reopen_suite(store: Store, suite_id: int) -> None:
    """A new or re-run check run puts a completed suite back in progress."""
    store.update(
        "check_suite", suite_id, {"status": "queued", "conclusion": None, "updated_at": now_iso()}
    )


def latest_check_runs(store: Store, suite_id: int) -> list[Doc]:
    """A suite's check runs, without those a re-run replaced."""
    return [r for r in store.query("check_run", suite_id=suite_id) if not r.get("superseded")]


def refresh_suite(store: Store, suite_id: int, hold: bool = False) -> tuple[Doc, bool]:
    """Derive a suite's status from its check runs; also says whether it just completed.

    `hold` keeps it in progress while its workflow run still has jobs to create.
    """
    with store.transaction():
        suite = store.get("check_suite", suite_id)
        assert suite is not None
        runs = latest_check_runs(store, suite_id)
        statuses = {r["status"] for r in runs}
        if not runs or statuses == {"queued"}:
            status, conclusion = "queued", None
        elif statuses != {"completed"}:
            status, conclusion = "in_progress", None
        else:
            found = {r["conclusion"] for r in runs}
            status = "completed"
            conclusion = next((c for c in _SUITE_CONCLUSIONS if c in found), "success")
            if hold:
                status, conclusion = "in_progress", None
        just_completed = status == "completed" and suite["status"] != "completed"
        if (status, conclusion) != (suite["status"], suite["conclusion"]):
            suite = store.update(
                "check_suite",
                suite_id,
                {"status": status, "conclusion": conclusion, "updated_at": now_iso()},
            )
        return suite, just_completed


def workflow_for(store: Store, repo_id: int, path: str, name: str) -> Doc:
    with store.transaction():
        workflow = store.first("workflow", repo_id=repo_id, path=path)
        if workflow is None:
            now = now_iso()
            workflow = store.insert(
                "workflow",
                {
                    "repo_id": repo_id,
                    "path": path,
                    "name": name,
                    "state": "active",
                    "created_at": now,
                    "updated_at": now,
                },
            )
        elif workflow["name"] != name:
            workflow = store.update("workflow", workflow["id"], {"name": name})
        return workflow


def next_run_number(store: Store, workflow_id: int) -> int:
    return store.next_id(f"workflow:{workflow_id}:run_number")


def latest_jobs(store: Store, run_id: int) -> list[Doc]:
    """The jobs of a run's newest attempt, with jobs carried over from earlier attempts."""
    latest: dict[tuple[str, int], Doc] = {}
    for job in store.query("workflow_job", run_id=run_id):
        latest[(job["job_key"], job.get("instance", 0))] = job
    return sorted(latest.values(), key=lambda j: j["id"])


def active_jobs(store: Store, run_id: int) -> list[Doc]:
    """The latest jobs less those a re-run set aside to be decided again."""
    return [j for j in latest_jobs(store, run_id) if not j.get("superseded")]


def run_conclusion(jobs: list[Doc]) -> str | None:
    if not jobs or any(j["status"] != "completed" for j in jobs):
        return None
    found = {j["conclusion"] for j in jobs}
    return next((c for c in _SUITE_CONCLUSIONS if c in found), "success")
