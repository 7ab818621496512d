"""GitHub-shaped JSON for Actions: workflows, workflow runs and jobs."""

from __future__ import annotations

from typing import Any

from ghsim.ci.shapes import CIShapes
from ghsim.store import Doc

RUNNER_GROUP = {"runner_group_id": 1, "runner_group_name": "GitHub Actions"}


class RunShapes:
    def __init__(self, shapes: CIShapes) -> None:
        self.shapes = shapes
        self.sim = shapes.sim
        self.ser = shapes.ser

    def workflow(self, workflow: Doc) -> dict[str, Any]:
        api = self.shapes.repo_api(workflow["repo_id"])
        web = self.shapes.repo_web(workflow["repo_id"])
        repo = self.sim.repo(workflow["repo_id"])
        return {
            "id": workflow["id"],
            "node_id": self.ser.node("Workflow", workflow["id"]),
            "name": workflow["name"],
            "path": workflow["path"],
            "state": workflow["state"],
            "created_at": workflow["created_at"],
            "updated_at": workflow["updated_at"],
            "url": f"{api}/actions/workflows/{workflow['id']}",
            "html_url": f"{web}/blob/{repo['default_branch']}/{workflow['path']}",
            "badge_url": f"{web}/workflows/{workflow['name']}/badge.svg",
        }

    def workflow_run(self, run: Doc) -> dict[str, Any]:
        api = self.shapes.repo_api(run["repo_id"])
        url = f"{api}/actions/runs/{run['id']}"
        actor = self.ser.user_by_id(run["actor_id"])
        attempt = run["run_attempt"]
        return {
            "id": run["id"],
            "name": run["name"],
            "node_id": self.ser.node("WorkflowRun", run["id"]),
            "check_suite_id": run["suite_id"],
            "check_suite_node_id": self.ser.node("CheckSuite", run["suite_id"]),
            "head_branch": run["head_branch"],
            "head_sha": run["head_sha"],
            "path": run["path"],
            "display_title": run["display_title"],
            "run_number": run["run_number"],
            "run_attempt": attempt,
            "event": run["event"],
            "status": run["status"],
            "conclusion": run["conclusion"],
            "workflow_id": run["workflow_id"],
            "url": url,
            "html_url": f"{self.shapes.repo_web(run['repo_id'])}/actions/runs/{run['id']}",
            "pull_requests": self.shapes.pull_requests(run["repo_id"], run["head_sha"]),
            "created_at": run["created_at"],
            "updated_at": run["updated_at"],
            "actor": actor,
            "triggering_actor": self.ser.user_by_id(run["triggering_actor_id"]),
            "run_started_at": run["run_started_at"],
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "check_suite_url": f"{api}/check-suites/{run['suite_id']}",
            "artifacts_url": f"{url}/artifacts",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "previous_attempt_url": f"{url}/attempts/{attempt - 1}" if attempt > 1 else None,
            "workflow_url": f"{api}/actions/workflows/{run['workflow_id']}",
            "head_commit": run["head_commit"],
            "repository": self.shapes.minimal_repository(run["repo_id"]),
            "head_repository": self.shapes.minimal_repository(run["repo_id"]),
        }

    def job(self, job: Doc) -> dict[str, Any]:
        api = self.shapes.repo_api(job["repo_id"])
        running = job["status"] != "queued"
        return {
            "id": job["id"],
            "run_id": job["run_id"],
            "run_url": f"{api}/actions/runs/{job['run_id']}",
            "run_attempt": job["run_attempt"],
            "node_id": self.ser.node("CheckRun", job["id"]),
            "head_sha": job["head_sha"],
            "head_branch": job["head_branch"],
            "url": f"{api}/actions/jobs/{job['id']}",
            "html_url": f"{self.shapes.repo_web(job['repo_id'])}/actions/runs/"
            f"{job['run_id']}/job/{job['id']}",
            "status": job["status"],
            "conclusion": job["conclusion"],
            "created_at": job["created_at"],
            "started_at": job["started_at"] or job["created_at"],
            "completed_at": job["completed_at"],
            "name": job["name"],
            "steps": [dict(step) for step in job["steps"]],
            "check_run_url": f"{api}/check-runs/{job['check_run_id']}",
            "labels": job["labels"],
            "runner_id": 1 if running else None,
            "runner_name": "ghsim 1" if running else None,
            **({k: v if running else None for k, v in RUNNER_GROUP.items()}),
            "workflow_name": job["workflow_name"],
        }
