"""The worker side of runs: the `start_run` job on the run queue, with its clients made once."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Function, Worker, func

from bot import jobs
from bot.controller import Controller, RunDeps
from bot.github import GitHubApp, Repo
from bot.llm import LLM
from bot.run_host import GitHubRunHost
from bot.run_lease import LeaseHeld, is_held, lease, reclaim_orphans
from bot.run_report import status_report
from bot.run_state import Phase, RunState, run_dir_name
from bot.sandbox import Sandboxes
from bot.settings import Settings
from bot.workspace import Workspace

log = logging.getLogger("pilot.runs")

RECLAIM_EVERY_S = 10


async def start_run(
    ctx: dict[str, Any],
    repo: str,
    issue_number: int,
    requested_by: str,
    installation_id: int | None = None,
    delivery_id: str | None = None,
) -> str:
    """Runs (or resumes) the run of one issue; returns the phase it rests in."""
    run_id = run_dir_name(repo, issue_number)
    fields = {"run": run_id, "delivery_id": delivery_id, "try": ctx.get("job_try", 1)}
    try:
        async with lease(ctx["redis"], run_id, ctx["worker_id"]):
            app: GitHubApp = ctx["github"]
            the_repo = Repo.parse(repo)
            gh = await app.client(the_repo, installation_id)
            host = GitHubRunHost(app, gh, the_repo, issue_number)
            deps: RunDeps | None = ctx["run_deps"]
            if deps is None:
                await _no_model(host, issue_number, requested_by, ctx["settings"])
                return Phase.FAILED.value
            state = await Controller(deps, host, run_id, requested_by).run()
            log.info("run rests", extra={**fields, "phase": state.phase.value})
            return state.phase.value
    except LeaseHeld:
        log.info("run held by another worker", extra=fields)
        return "held"


async def _no_model(host: GitHubRunHost, issue: int, requested_by: str, settings: Settings) -> None:
    state = await host.load_state() or RunState(issue, requested_by)
    state.phase = Phase.FAILED
    state.error = "no model is configured (set PILOT_LLM_BASE_URL and PILOT_LLM_MODEL)"
    await host.save_state(state, status_report(state, settings.command_prefix, None))


def lease_of_job(job_id: str) -> str | None:
    """The lease a `run:<owner>/<repo>#<n>` job holds (the sandbox's run label too)."""
    repo, sep, number = job_id.removeprefix("run:").rpartition("#")
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
        force_tools=settings.llm_force_tools,
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
        await reap(ctx)

    async def reap(ctx: dict[str, Any]) -> None:
        reclaimed = await reclaim_orphans(ctx["redis"], in_progress_timeout_s, lease_of_job)
        if reclaimed:
            log.warning("reclaimed runs of dead workers", extra={"runs": reclaimed})
        await sandboxes_reap(ctx, sandboxes)

    functions: list[Function] = [func(start_run, name=jobs.START_RUN, max_tries=3)]
    return Worker(
        functions=functions,
        queue_name=jobs.RUN_QUEUE,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        on_startup=on_startup,
        cron_jobs=[cron(reap, second=set(range(0, 60, RECLAIM_EVERY_S)), run_at_startup=False)],
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
        return await is_held(redis, run_id)

    removed = await reaper(alive)
    if removed:
        log.warning("removed orphaned sandboxes", extra={"removed": removed})
