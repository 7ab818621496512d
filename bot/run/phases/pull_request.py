"""The pull request: opened as a draft once the tree's work is pushed, then CI awaited on the
head just pushed (with a time-out that falls back to the sandbox's test command)."""

from __future__ import annotations

from time import perf_counter
from typing import Protocol

from bot.core.inert import neutralise
from bot.run.host import PullRef
from bot.run.kernel import KernelHost, Run
from bot.run.report import pull_request_body, pull_request_title
from bot.run.state import Phase, RunState


class PullRequestHost(KernelHost, Protocol):
    async def open_pull(self, branch: str, base: str, title: str, body: str) -> PullRef: ...


class ReadyHost(KernelHost, Protocol):
    async def mark_ready(self, number: int) -> None: ...

    async def retitle_pull(self, number: int, title: str) -> None: ...


async def open_pull(run: Run[PullRequestHost], state: RunState) -> None:
    assert run.target is not None and state.branch and state.base_branch
    await run.save(state, Phase.PULL_REQUEST)
    issue = run.target.issue
    summary = f"Issue Pilot's work on #{issue.number}: {neutralise(issue.title)}"
    body = pull_request_body(state, summary, run.config.max_tokens)
    since = perf_counter()
    fresh = state.pr_number is None  # a retry finds its pull request already open
    pull = await run.host.open_pull(
        state.branch, state.base_branch, pull_request_title(issue.title), body
    )
    state.pr_number, state.pr_url = pull.number, pull.url
    state.pr_wip = None if pull.draft else True
    run.timing("pull_request", since)
    if fresh:
        await run.deps.metrics.label_to_pr(run.deps.clock() - state.started_at)
    await await_ci(run, state)


async def mark_ready(run: Run[ReadyHost], state: RunState) -> None:
    """Ready for review: a draft is marked ready; a `[WIP] …` pull request (where GitHub has
    no drafts) gets its plain title back."""
    assert state.pr_number is not None and run.target is not None
    if state.pr_wip:
        await run.host.retitle_pull(state.pr_number, pull_request_title(run.target.issue.title))
        state.pr_wip = None
        return
    await run.host.mark_ready(state.pr_number)


async def await_ci(run: Run[KernelHost], state: RunState) -> None:
    """Waits for CI on the head just pushed; the time-out falls back to the sandbox."""
    state.ci_sha = state.head_sha
    state.ci_pushed_at = run.deps.clock()
    state.ci_attempt += 1
    await run.deps.metrics.ci_attempt()
    await run.save(state, Phase.AWAIT_CI)
    if run.deps.scheduler is not None and state.ci_sha:
        event = {"kind": "ci_timeout", "sha": state.ci_sha}
        key = f"ci_timeout:{state.ci_sha}"
        await run.deps.scheduler.later(event, key, run.deps.ci_timeout_s)
