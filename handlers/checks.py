"""CI results on a pilot branch (check suites and runs, workflow runs, commit statuses) wake
the run that waits for them; they are its VERIFY."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.core.branches import issues_of_branches
from bot.core.events import Event, Ignore
from bot.core.routing import Router
from bot.delivery.context import HandlerContext
from bot.delivery.wake import wake_run
from bot.github.api import Repo

router = Router()
log = logging.getLogger("pilot.handlers.checks")

# The check suites of GitHub Actions belong to this App; their workflow runs report too.
ACTIONS_APP = "github-actions"
# A pending status says nothing new: the run already waits for it.
FINAL_STATUS_STATES = frozenset({"success", "failure", "error"})


@dataclass(frozen=True)
class CiWake:
    """A CI result for `sha` that the runs of `issues` may be waiting for."""

    repo: Repo
    sha: str
    issues: tuple[int, ...]
    key: str
    installation_id: int | None

    @property
    def event(self) -> dict[str, Any]:
        return {"kind": "ci", "sha": self.sha}


def _app_slug(obj: dict[str, Any]) -> str | None:
    slug = (obj.get("app") or {}).get("slug")
    return slug if isinstance(slug, str) else None


def _wake(event: Event, sha: object, branches: list[object], key: str) -> CiWake | Ignore:
    if event.repo_full_name is None:
        return Ignore("no repository in the payload")
    if not isinstance(sha, str) or not sha:
        return Ignore("no head sha")
    issues = issues_of_branches(branches)
    if not issues:
        return Ignore(f"not a pilot branch: {branches!r}")
    return CiWake(
        repo=Repo.parse(event.repo_full_name),
        sha=sha,
        issues=issues,
        key=f"ci:{sha}:{key}",
        installation_id=event.installation_id,
    )


def decide_check_suite(event: Event, own_slug: str) -> CiWake | Ignore:
    suite = event.payload.get("check_suite") or {}
    if _app_slug(suite) == own_slug:
        return Ignore("our own check suite")
    # A re-run completes the same suite again, later: it must wake the run again.
    key = f"check_suite:{suite.get('id')}:{suite.get('updated_at')}"
    return _wake(event, suite.get("head_sha"), [suite.get("head_branch")], key)


def decide_check_run(event: Event, own_slug: str) -> CiWake | Ignore:
    run = event.payload.get("check_run") or {}
    suite = run.get("check_suite") or {}
    if own_slug in (_app_slug(run), _app_slug(suite)):
        return Ignore("our own check run")
    if _app_slug(suite) == ACTIONS_APP and suite.get("status") != "completed":
        # One job of a workflow: the workflow run's own `completed` (and its suite's) follows
        # when the last job ends, so waking on each job would only read CI still running.
        return Ignore("a GitHub Actions job: its workflow run's completion wakes the run")
    key = f"check_run:{run.get('id')}:{run.get('completed_at')}"
    return _wake(event, run.get("head_sha"), [suite.get("head_branch")], key)


def decide_workflow_run(event: Event) -> CiWake | Ignore:
    run = event.payload.get("workflow_run") or {}
    head_repo = (run.get("head_repository") or {}).get("full_name")
    if head_repo is not None and head_repo != event.repo_full_name:
        return Ignore("a workflow run of a fork's branch")
    # The conclusion is in the key: a run held for approval (completed, action_required)
    # completes again, same attempt, once approved.
    key = f"workflow_run:{run.get('id')}:{run.get('run_attempt')}:{run.get('conclusion')}"
    return _wake(event, run.get("head_sha"), [run.get("head_branch")], key)


def decide_workflow_run_requested(event: Event) -> CiWake | Ignore:
    """GitHub announces a run it holds for approval only as `requested`, already completed
    with `action_required` (no `completed` follows until it is approved and has run)."""
    run = event.payload.get("workflow_run") or {}
    if run.get("conclusion") != "action_required":
        return Ignore("a requested workflow run: its completion wakes the run")
    return decide_workflow_run(event)


def decide_status(event: Event, own_login: str) -> CiWake | Ignore:
    payload = event.payload
    state = payload.get("state")
    if state not in FINAL_STATUS_STATES:
        return Ignore(f"status {state!r} is not final")
    if event.sender_login == own_login:
        return Ignore("our own status")
    branches = [b.get("name") for b in payload.get("branches") or [] if isinstance(b, dict)]
    return _wake(event, payload.get("sha"), branches, f"status:{payload.get('id')}")


async def _act(ctx: HandlerContext, event: Event, decision: CiWake | Ignore) -> None:
    if isinstance(decision, Ignore):
        log.debug("ignored", extra={"delivery_id": event.delivery_id, "reason": decision.reason})
        return
    for issue in decision.issues:
        index = ctx.ci_index
        if index is not None and await index.is_settled(
            decision.repo.full_name, issue, decision.sha
        ):
            log.debug("settled sha", extra={"delivery_id": event.delivery_id, "issue": issue})
            continue
        await wake_run(
            ctx, decision.repo, issue, decision.installation_id, decision.event, decision.key
        )


async def _own_slug(ctx: HandlerContext) -> str:
    return (await ctx.github.bot_login()).removesuffix("[bot]")


@router.register("check_suite", action="completed")
async def on_check_suite_completed(event: Event, ctx: HandlerContext) -> None:
    """Fires when a check suite completes; one on a pilot branch wakes its run."""
    await _act(ctx, event, decide_check_suite(event, await _own_slug(ctx)))


@router.register("check_run", action="completed")
async def on_check_run_completed(event: Event, ctx: HandlerContext) -> None:
    """Fires when a check run completes; one on a pilot branch wakes its run."""
    await _act(ctx, event, decide_check_run(event, await _own_slug(ctx)))


@router.register("workflow_run", action="completed")
async def on_workflow_run_completed(event: Event, ctx: HandlerContext) -> None:
    """Fires when an Actions workflow run completes; one on a pilot branch wakes its run."""
    await _act(ctx, event, decide_workflow_run(event))


@router.register("workflow_run", action="requested")
async def on_workflow_run_requested(event: Event, ctx: HandlerContext) -> None:
    """Fires when a workflow run is requested; one held for approval wakes its run."""
    await _act(ctx, event, decide_workflow_run_requested(event))


@router.register("status")
async def on_status(event: Event, ctx: HandlerContext) -> None:
    """Fires when a commit status is set; a final one on a pilot branch's head wakes its run."""
    await _act(ctx, event, decide_status(event, await ctx.github.bot_login()))
