"""What a request to run (the label, `/pilot run`, or a replay of either) makes of a run that
exists already (pure). Its state is never replaced: a request is reconciled against it.

- a live run (working, or waiting for CI, a person or an approval) goes on as it is;
- after a stop or a failure, a new attempt on the same branch and pull request, with the
  counters kept (tokens, handled events, iterations) and a fresh budget;
- after its pull request was merged or closed, a new attempt on a new branch;
- a request older than the run's ending (a replayed delivery) changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.run.state import ENDINGS, FINAL_PHASES, Phase, RunState


def asked_again(state: RunState, requested_by: str, asked_at: float) -> RunState | None:
    """The state a request by `requested_by` at `asked_at` starts from; None when it changes
    nothing."""
    if state.phase not in ENDINGS:
        return None
    if state.ended_at is not None and asked_at <= state.ended_at:
        return None
    again = replace(
        state,
        requested_by=requested_by,
        phase=Phase.QUEUED,
        attempt=state.attempt + 1,
        tree=None,
        approved=False,
        check=None,
        question=None,
        error=None,
        parked=None,
        outcome=None,
        ended_at=None,
        working=None,
        pending_edit=None,
        paused_from=None,
        ci_sha=None,
        ci_pushed_at=None,
        ci_attempt=0,
        ci_extra=0,
        ci_history=[],
        best_sha=None,
        # A fresh token budget; what was spent stays on the record.
        token_base=state.prompt_tokens + state.completion_tokens,
    )
    if state.phase in FINAL_PHASES:
        # The merged (or closed) branch is done with: the new work gets its own, and the
        # issue's text as it reads now.
        again.branch = next_branch(state.branch, again.attempt) if state.branch else None
        again.pr_number = again.pr_url = again.pr_wip = None
        again.head_sha = None
        again.snapshot = None
        again.hold = None
        again.check_fixed = False  # once per branch: the new one may have its own
    return again


def next_branch(branch: str, attempt: int) -> str:
    """`pilot/issue-<n>-<slug>-a<attempt>`, within the 40 characters a slug may have."""
    match = re.fullmatch(r"(pilot/issue-\d+-)(.*?)(?:-a\d+)?", branch)
    if match is None:
        return branch
    head, slug = match.group(1), match.group(2)
    suffix = f"-a{attempt}"
    return f"{head}{slug[: 40 - len(suffix)].rstrip('-')}{suffix}"
