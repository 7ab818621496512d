"""The worker side of runs: the `start_run` job on the run queue, with its clients made once."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from arq import Retry, cron
from arq.connections import RedisSettings
from arq.worker import Function, Worker, func

from bot.agent.llm import LLM
from bot.core import job_codec, jobs
from bot.core.branches import issue_of_branch
from bot.core.ci_index import RedisCiIndex
from bot.core.feed import RedisRunFeed
from bot.core.settings import Settings
from bot.core.signals import RedisRunSignals
from bot.github.api import GitHubApp, Repo
from bot.github.workspace import Workspace
from bot.metrics.counters import RedisRunMetrics
from bot.metrics.timing import counted
from bot.run.candidates import owning_run
from bot.run.controller import Controller
from bot.run.deps import RunDeps
from bot.run.failsafe import guarded
from bot.run.host import GitHubRunHost
from bot.run.housekeeping import housekeeping
from bot.run.inbox import RedisRunInbox
from bot.run.lease import (
    Lease,
    LeaseHeld,
    LeaseLost,
    is_held,
    lease,
    note_job_lease,
    reclaim_orphans,
)
from bot.run.report import status_report
from bot.run.run_index import IndexEntry, RunIndex
from bot.run.state import Phase, RunState, run_dir_name
from bot.run.status_outbox import StatusOutbox
from bot.sandbox.api import Sandboxes

log = logging.getLogger("pilot.runs")

RECLAIM_EVERY_S = 10


async def _with_run(
    ctx: dict[str, Any],
    repo: str,
    issue_number: int,
    installation_id: int | None,
    item: dict[str, Any],
) -> str:
    """Leaves `item` in the run's inbox and, unless another job holds the run (which then
    takes it), holds the run's lease and works through the inbox."""
    run_id = run_dir_name(repo, issue_number)
    fields = {"run": run_id, "job": str(ctx.get("job_id", "")), "try": ctx.get("job_try", 1)}
    inbox = RedisRunInbox(ctx["redis"])
    await inbox.put(run_id, item)
    result = "held"
    while True:
        try:
            async with lease(ctx["redis"], run_id, ctx["worker_id"]) as held:
                result = await _drain(ctx, held, run_id, repo, issue_number, installation_id)
        except LeaseHeld:
            log.info("run held by another job: left in its inbox", extra=fields)
            return result
        except LeaseLost:
            log.warning("lease lost: the run is left to its next holder", extra=fields)
            return "lease lost"
        # An item may have come between the last look and the release.
        if not await inbox.size(run_id):
            log.info("run rests", extra={**fields, "phase": result})
            return result


async def _drain(
    ctx: dict[str, Any],
    held: Lease,
    run_id: str,
    repo: str,
    issue_number: int,
    installation_id: int | None,
) -> str:
    inbox = RedisRunInbox(ctx["redis"])
    settings: Settings = ctx["settings"]
    await note_job_lease(ctx["redis"], str(ctx.get("job_id", "")), run_id, settings.run_timeout_s)
    result = "empty"
    while (item := await inbox.take(run_id)) is not None:
        try:
            result = await _one(ctx, held, repo, issue_number, installation_id, item)
        except (LeaseLost, Retry):
            # Not done: whoever holds the run next takes it again, first.
            await inbox.put_back(run_id, item)
            raise
    return result


async def _one(
    ctx: dict[str, Any],
    held: Lease,
    repo: str,
    issue_number: int,
    installation_id: int | None,
    item: dict[str, Any],
) -> str:
    """One inbox item: a request to run (kind `start`) or an event to move the run on."""
    settings: Settings = ctx["settings"]
    run_id = run_dir_name(repo, issue_number)
    app: GitHubApp = ctx["github"]
    the_repo = Repo.parse(repo)
    gh = await app.client(the_repo, installation_id)
    host = GitHubRunHost(
        app,
        gh,
        the_repo,
        issue_number,
        settings.status_edit_interval_s,
        fence=held.check,
        command_prefix=settings.command_prefix,
    )
    requested_by = str(item.get("requested_by") or "") if item.get("kind") == "start" else ""
    deps: RunDeps | None = ctx["run_deps"]
    if deps is None:
        await _no_model(host, issue_number, requested_by, settings)
        await host.flush()
        return Phase.FAILED.value
    deps = replace(
        deps,
        scheduler=JobScheduler(ctx["jobs"], repo, issue_number, installation_id),
        fence=held,
    )
    controller = Controller(deps, host, run_id, requested_by or str(item.get("sender") or ""))
    index = RunIndex(ctx["redis"])
    # Known to the reconciler from its first job: a worker that dies in it leaves a trace.
    await index.add_if_absent(
        IndexEntry(repo, issue_number, installation_id, touched_at=time.time())
    )

    async def work() -> RunState | None:
        if item.get("kind") == "start":
            return await controller.run(item.get("queued_s"), item.get("asked_at"))
        return await controller.handle(item)

    # Flushes the held-back edit; whatever `work` raises, the run is not left frozen without a
    # comment (bot/run/failsafe.py).
    outbox = StatusOutbox(ctx["redis"], run_id)
    job_try = int(ctx.get("job_try", 1))
    state = await guarded(work, deps, host, run_id, controller.requested_by, outbox, job_try)
    if state is not None and not held.lost.is_set():
        await index.note(IndexEntry.of(repo, installation_id, state, time.time()))
    return state.phase.value if state is not None else "no run"


async def start_run(
    ctx: dict[str, Any],
    repo: str,
    issue_number: int,
    requested_by: str,
    installation_id: int | None = None,
    delivery_id: str | None = None,
    asked_at: float | None = None,
) -> str:
    """Runs (or resumes) the run of one issue; returns the phase it rests in. An empty
    `requested_by` (the reconciler's) only resumes work a lost job left; `asked_at` is when
    the event that asked was made (its payload's time, which a replay cannot change)."""
    enqueued = ctx.get("enqueue_time")
    queued_s = (datetime.now(UTC) - enqueued).total_seconds() if enqueued else None
    item = {
        "kind": "start",
        "requested_by": requested_by,
        "queued_s": queued_s,
        "asked_at": asked_at,
    }
    return await _with_run(ctx, repo, issue_number, installation_id, item)


async def advance_run(
    ctx: dict[str, Any],
    repo: str,
    issue_number: int,
    installation_id: int | None,
    event: dict[str, Any],
) -> str:
    """Moves a run on with what CI, a reviewer or GitHub said (see bot/run/dispatch.py)."""
    if event.get("kind") == "ci" and await RedisCiIndex(ctx["redis"]).is_settled(
        repo, issue_number, str(event.get("sha"))
    ):
        # Queued before the run judged this sha (it waited for the lease): nothing to read.
        return "settled"
    return await _with_run(ctx, repo, issue_number, installation_id, event)


async def run_command(
    ctx: dict[str, Any],
    repo: str,
    issue_number: int,
    command: str,
    args: str,
    sender: str,
    installation_id: int | None,
    comment_id: int,
    on_pull_request: bool = False,
    delivery_id: str | None = None,
) -> str:
    """A person's `/pilot` command (or answer), checked for permission by its handler."""
    issue = issue_number
    if on_pull_request:
        app: GitHubApp = ctx["github"]
        the_repo = Repo.parse(repo)
        gh = await app.client(the_repo, installation_id)
        found = issue_of_branch((await gh.pull(the_repo, issue_number)).head_ref)
        if found is None:
            return "not a pilot pull request"
        issue = found
    event = {
        "kind": "command",
        "name": command,
        "args": args,
        "sender": sender,
        "comment_id": comment_id,
        "number": issue_number,
    }
    return await _with_run(ctx, repo, issue, installation_id, event)


@dataclass
class JobScheduler:
    """Hands an event back to the run later, as a deferred `advance_run` job."""

    queue: jobs.JobQueue
    repo: str
    issue: int
    installation_id: int | None

    async def later(self, event: dict[str, Any], key: str, delay_s: float) -> None:
        await self.queue.enqueue(
            jobs.ADVANCE_RUN,
            jobs.wake_job_id(self.repo, self.issue, key),
            jobs.RUN_QUEUE,
            _defer_by=delay_s,
            repo=self.repo,
            issue_number=self.issue,
            installation_id=self.installation_id,
            event=event,
        )


async def _no_model(host: GitHubRunHost, issue: int, requested_by: str, settings: Settings) -> None:
    state = await host.load_state() or RunState(issue, requested_by)
    state.phase = Phase.FAILED
    state.error = "no model is configured (set PILOT_LLM_BASE_URL and PILOT_LLM_MODEL)"
    await host.save_state(state, status_report(state, settings.command_prefix, None))


def instance_id(settings: Settings) -> str:
    """Names one deployment (its Redis): the sandboxes it may reap are the ones it made."""
    return hashlib.sha256(settings.redis_url.encode()).hexdigest()[:12]


def lease_of_job(job_id: str) -> str | None:
    """The lease a `run:<owner>/<repo>#<n>` or `wake:<owner>/<repo>#<n>:<key>` job holds
    (the sandbox's run label too); None for ids that do not say."""
    if job_id.startswith("wake:"):
        job_id = job_id.removeprefix("wake:").split(":", 1)[0]
    elif job_id.startswith("run:"):
        job_id = job_id.removeprefix("run:")
    else:
        return None
    repo, sep, number = job_id.rpartition("#")
    if not sep or not number.isdigit():
        return None
    return run_dir_name(repo, int(number))


def run_deps_from(settings: Settings, llm: LLM | None, sandboxes: Sandboxes) -> RunDeps | None:
    if llm is None:
        return None
    return RunDeps(
        llm=llm,
        sandboxes=sandboxes,
        workspace=Workspace(settings.cache_dir),
        runs_dir=settings.runs_dir,
        sandbox_image=settings.sandbox_image,
        command_prefix=settings.command_prefix,
        trigger_label=settings.trigger_label,
        force_tools=bool(settings.llm_force_tools),
        require_tool=settings.llm_force_tools == "required",
        context_tokens=settings.llm_context_tokens,
        drafts=settings.llm_drafts,
        plan_max_requirements=settings.llm_plan_max_requirements,
        ci_timeout_s=settings.ci_timeout_s,
        max_parallel_attempts=settings.max_parallel_attempts,
    )


def build_run_worker(
    settings: Settings,
    github: GitHubApp,
    llm: LLM | None,
    sandboxes: Sandboxes,
    burst: bool = False,
) -> Worker:
    """An arq worker for the run queue; one process runs it beside the delivery worker."""
    in_progress_timeout_s = settings.run_timeout_s + 10

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["worker_id"] = uuid.uuid4().hex
        ctx["github"] = github
        ctx["settings"] = settings
        ctx["run_deps"] = run_deps_from(settings, llm, sandboxes)
        ctx["metrics"] = RedisRunMetrics(ctx["redis"])
        if ctx["run_deps"] is not None:
            ctx["run_deps"].signals = RedisRunSignals(ctx["redis"])
            ctx["run_deps"].feed = RedisRunFeed(ctx["redis"])
            ctx["run_deps"].ci_index = RedisCiIndex(ctx["redis"])
            ctx["run_deps"].metrics = ctx["metrics"]
        ctx["jobs"] = jobs.ArqJobQueue(ctx["redis"])
        await reap(ctx)

    async def reap(ctx: dict[str, Any]) -> None:
        reclaimed = await reclaim_orphans(
            ctx["redis"], in_progress_timeout_s, lease_of_job, ("run:", "wake:", "command:")
        )
        if reclaimed:
            log.warning("reclaimed runs of dead workers", extra={"runs": reclaimed})
        await sandboxes_reap(ctx, sandboxes)

    functions: list[Function] = [
        func(counted(start_run), name=jobs.START_RUN, max_tries=3),
        # A job for a run another job holds leaves its event in the run's inbox (run/inbox.py).
        func(counted(advance_run), name=jobs.ADVANCE_RUN, max_tries=3),
        func(counted(run_command), name=jobs.RUN_COMMAND, max_tries=3),
    ]
    return Worker(
        functions=functions,
        queue_name=jobs.RUN_QUEUE,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        job_serializer=job_codec.serialize,
        job_deserializer=job_codec.deserialize,
        on_startup=on_startup,
        cron_jobs=[
            cron(reap, second=set(range(0, 60, RECLAIM_EVERY_S)), run_at_startup=False),
            cron(housekeeping, minute={17}, run_at_startup=False),  # hourly, off the hour
        ],
        burst=burst,
        poll_delay=0.05,
        max_jobs=4,
        job_timeout=settings.run_timeout_s,
        keep_result=0,
        handle_signals=False,
    )


async def sandboxes_reap(ctx: dict[str, Any], sandboxes: Sandboxes) -> None:
    """Removes sandboxes of runs no live worker holds."""
    reaper = getattr(sandboxes, "reap_orphans", None)
    if reaper is None:
        return
    redis = ctx["redis"]

    async def alive(run_id: str) -> bool:
        # A candidate's sandbox (bot/run/candidates.py) lives while its run's lease does.
        return await is_held(redis, owning_run(run_id))

    removed = await reaper(alive)
    if removed:
        log.warning("removed orphaned sandboxes", extra={"removed": removed})
