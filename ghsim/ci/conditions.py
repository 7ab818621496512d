"""The `if:` conditions ghsim evaluates: the status functions, optionally inside `${{ }}`."""

from __future__ import annotations

import re

_STATUS_FUNCTIONS = {"success()", "failure()", "always()", "cancelled()"}


class UnsupportedCondition(ValueError):
    """An expression beyond the status functions; the step is skipped and the log says why."""


def should_run(condition: str | None, job_failed: bool, cancelled: bool = False) -> bool:
    """Decide whether a step runs, given whether an earlier step of the job failed."""
    if condition is None:
        return not job_failed and not cancelled
    expr = condition.strip()
    match = re.fullmatch(r"\$\{\{(.*)\}\}", expr, flags=re.DOTALL)
    if match:
        expr = match.group(1).strip()
    negate = expr.startswith("!")
    expr = expr.lstrip("!").strip().replace(" ", "")
    if expr not in _STATUS_FUNCTIONS:
        raise UnsupportedCondition(condition)
    result = {
        "success()": not job_failed and not cancelled,
        "failure()": job_failed and not cancelled,
        "always()": True,
        "cancelled()": cancelled,
    }[expr]
    return result != negate
