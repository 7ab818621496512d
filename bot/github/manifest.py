"""The GitHub App manifest: what GitHub's manifest flow registers for Issue Pilot."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The least each REST and GraphQL call of the backend (bot/github/*_calls.py) needs, and git
# over HTTPS.
PERMISSIONS: dict[str, str] = {
    # comments on issues (create, update, read), reactions, removing the trigger label
    "issues": "write",
    # draft PRs (list, create, update), reviews and their comments, replies, markReady
    "pull_requests": "write",
    # .github/pilot.yml and the mirror (read), the branch the worker pushes (write)
    "contents": "write",
    # check runs of a commit, read as CI evidence
    "checks": "read",
    # commit statuses, read as CI evidence
    "statuses": "read",
    # workflow runs, their jobs and the failed jobs' logs (read); re-running failed jobs
    # once to tell a flaky failure from the run's own (write)
    "actions": "write",
    # the repository and the collaborator-permission API (GitHub grants it to every App)
    "metadata": "read",
}

# What each event the handlers subscribe to needs: GitHub refuses an event whose permission
# the App lacks.
EVENT_PERMISSION: dict[str, str] = {
    "issues": "issues",
    "issue_comment": "issues",
    "pull_request": "pull_requests",
    "pull_request_review": "pull_requests",
    "check_run": "checks",
    "check_suite": "checks",
    "status": "statuses",
    "workflow_run": "actions",
}

DESCRIPTION = "Turns labeled issues into reviewed pull requests."
HOMEPAGE = "https://github.com/issue-pilot/issue-pilot"


def manifest(
    name: str,
    webhook_url: str,
    redirect_url: str,
    events: Iterable[str],
    url: str = HOMEPAGE,
    public: bool = False,
) -> dict[str, Any]:
    """The manifest GitHub's `settings/apps/new` takes as its `manifest` form field; `events`
    are the handler router's (`bot.cli` composes it), sorted here as GitHub lists them."""
    return {
        "name": name,
        "url": url,
        "description": DESCRIPTION,
        "hook_attributes": {"url": webhook_url, "active": True},
        "redirect_url": redirect_url,
        "public": public,
        "default_permissions": dict(PERMISSIONS),
        "default_events": sorted(set(events)),
    }
