"""The run feed's summary of a run as it was just saved (pure): what the dashboard lists."""

from __future__ import annotations

from bot.core.feed import RunSummary
from bot.run.host import RunTarget
from bot.run.repo_config import RepoConfig
from bot.run.report import StatusReport
from bot.run.state import RunState


def run_summary(
    run_id: str,
    target: RunTarget,
    state: RunState,
    report: StatusReport,
    config: RepoConfig,
    now: float,
) -> RunSummary:
    web = target.web_url
    return RunSummary(
        run_id=run_id,
        repo=target.key,
        issue=state.issue,
        title=target.issue.title,
        phase=state.phase.value,
        headline=report.headline,
        requested_by=state.requested_by,
        started_at=state.started_at,
        updated_at=now,
        issue_url=f"{web}/issues/{state.issue}" if web else None,
        branch=state.branch,
        pr_number=state.pr_number,
        pr_url=state.pr_url,
        tokens_used=state.prompt_tokens + state.completion_tokens,
        token_limit=config.max_tokens,
        steps=state.steps,
        ci_attempt=state.ci_attempt,
        ci_max=config.max_ci_attempts + state.ci_extra,
        ci_history=list(state.ci_history),
        tree=list(state.tree or []),
        error=state.error,
        question=state.question,
        outcome=state.outcome,
        attempt=state.attempt,
        candidates=list(state.candidates),
    )
