"""`if:` of steps and jobs: what the status functions answer there, then the expression."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ghsim.ci.expressions import ExpressionError, Scope, Status, condition_holds


class UnsupportedCondition(ValueError):
    """An expression ghsim cannot evaluate; the step is skipped and the log says why."""


def should_run(
    condition: str | None,
    job_failed: bool,
    cancelled: bool = False,
    contexts: dict[str, Any] | None = None,
) -> bool:
    """Whether a step runs, given whether an earlier step of the job failed."""
    status = Status(
        success=not job_failed and not cancelled,
        failure=job_failed and not cancelled,
        cancelled=cancelled,
    )
    try:
        return condition_holds(condition, Scope(contexts or {}, status))
    except ExpressionError as exc:
        raise UnsupportedCondition(f"{condition}: {exc}") from exc


def job_status(needs: Iterable[str], ancestors_failed: bool, cancelled: bool = False) -> Status:
    """A job's status functions: success() when every needed job succeeded, and failure()
    when any ancestor failed ("If you have a chain of dependent jobs, failure() returns true
    if any ancestor job fails", GitHub's expressions reference)."""
    results = list(needs)
    return Status(
        success=all(r == "success" for r in results) and not cancelled,
        failure=ancestors_failed and not cancelled,
        cancelled=cancelled,
    )
