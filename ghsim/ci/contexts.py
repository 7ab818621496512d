"""What a job sees of its run: the `github` context of expressions and the runner's env."""

from __future__ import annotations

from typing import Any

from ghsim.ci.expressions import Scope, Status
from ghsim.sim import Sim
from ghsim.store import Doc


def _ref(run: Doc) -> str:
    # A pull request's run has `refs/pull/<n>/merge` as GitHub gives it (ghsim checks out
    # the head commit rather than a merge commit; see docs/ghsim.md).
    if run["event"] == "pull_request" and run.get("pull_number"):
        return f"refs/pull/{run['pull_number']}/merge"
    return f"refs/heads/{run['head_branch'] or ''}"


def github_context(sim: Sim, run: Doc, job_key: str) -> dict[str, Any]:
    """The `github` context (the part ghsim knows) of a job of a workflow run."""
    repo = sim.repo(run["repo_id"])
    ref = _ref(run)
    pull = run["event"] == "pull_request"
    return {
        "event_name": run["event"],
        "ref": ref,
        "ref_name": f"{run['pull_number']}/merge" if pull else run["head_branch"] or "",
        "ref_type": "branch",
        "sha": run["head_sha"],
        "head_ref": run["head_branch"] if pull else "",
        "base_ref": run.get("base_ref") or "" if pull else "",
        "repository": repo["full_name"],
        "repository_owner": repo["owner"],
        "repository_id": str(repo["id"]),
        "actor": sim.user(run["actor_id"])["login"],
        "triggering_actor": sim.user(run["triggering_actor_id"])["login"],
        "run_id": str(run["id"]),
        "run_number": str(run["run_number"]),
        "run_attempt": str(run["run_attempt"]),
        "workflow": run["name"],
        "workflow_ref": f"{repo['full_name']}/{run['path']}@{ref}",
        "job": job_key,
        "server_url": sim.config.base_url,
        "api_url": sim.config.api_url,
        "event": {},
    }


def job_scope(
    github: dict[str, Any],
    matrix: dict[str, Any],
    needs: dict[str, Any],
    env: dict[str, str],
    status: Status | None = None,
) -> Scope:
    contexts = {
        "github": github,
        "matrix": matrix,
        "needs": needs,
        "env": env,
        "runner": {"os": "Linux", "arch": "X64", "temp": "/tmp", "name": "ghsim 1"},
        # ghsim stores no secrets or variables: each reads as empty, as a missing one does.
        "secrets": {},
        "vars": {},
        "inputs": {},
        "strategy": {"fail-fast": True, "max-parallel": 1},
    }
    return Scope(contexts, status or Status())


def runner_env(sim: Sim, run: Doc, job_key: str, attempt: int) -> dict[str, str]:
    """The default variables GitHub's runner sets, from the same facts as `github`."""
    github = github_context(sim, run, job_key)
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "HOME": "/home/pilot",
        "GITHUB_WORKSPACE": "/workspace",
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": "/tmp",
        "GITHUB_SHA": github["sha"],
        "GITHUB_REF": github["ref"],
        "GITHUB_REF_NAME": github["ref_name"],
        "GITHUB_HEAD_REF": github["head_ref"],
        "GITHUB_BASE_REF": github["base_ref"],
        "GITHUB_REPOSITORY": github["repository"],
        "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
        "GITHUB_ACTOR": github["actor"],
        "GITHUB_TRIGGERING_ACTOR": github["triggering_actor"],
        "GITHUB_EVENT_NAME": github["event_name"],
        "GITHUB_RUN_ID": github["run_id"],
        "GITHUB_RUN_NUMBER": github["run_number"],
        "GITHUB_RUN_ATTEMPT": str(attempt),
        "GITHUB_JOB": job_key,
        "GITHUB_WORKFLOW": github["workflow"],
        "GITHUB_SERVER_URL": github["server_url"],
        "GITHUB_API_URL": github["api_url"],
    }
