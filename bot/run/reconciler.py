"""The reconciler: every `reconcile_interval_s` the run worker compares each unfinished run
with GitHub's record and queues what a lost event would have caused (bot/run/reconcile.py
decides). Its index lives in Redis and is rebuilt from GitHub when Redis lost it: the
installations' repositories, their open issues with the trigger label, and the state in
each one's status comment. Waiting flags and deferred CI time-outs are derived again here,
so a wiped Redis costs at most one interval.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import redis.asyncio as aioredis

from bot.core import jobs
from bot.core.settings import Settings
from bot.core.signals import RunSignals
from bot.github.api import GitHubApp, GitHubClient, HookDelivery, Repo
from bot.run.host import GitHubRunHost
from bot.run.lease import is_held
from bot.run.reconcile import Action, Truth, decide, needs_truth
from bot.run.run_index import IndexEntry, RunIndex
from bot.run.state import Phase, run_dir_name

log = logging.getLogger("pilot.reconciler")

# Runs waiting on people are looked at every this many passes.
SLOW_EVERY = 5


class InventoryClient(GitHubClient, Protocol):
    async def installation_repos(self) -> list[Repo]: ...

    async def open_labelled_issues(self, repo: Repo, label: str) -> list[int]: ...


class InventoryApp(GitHubApp, Protocol):
    async def installation_ids(self) -> list[int]: ...

    def for_installation(self, installation_id: int) -> InventoryClient: ...

    async def hook_deliveries(self, pages: int = 3) -> list[HookDelivery]: ...

    async def hook_delivery_payload(self, delivery_id: int) -> dict[str, Any]: ...

    async def redeliver(self, delivery_id: int) -> None: ...


async def rebuild(app: InventoryApp, index: RunIndex, label: str) -> int:
    """Finds every run GitHub shows (an open issue with the label and the App's status
    comment) and indexes it; returns how many. A labelled issue with no status comment had
    its label's delivery lost after the bot took it (Redis lost the job): GitHub is asked to
    deliver it again."""
    found = 0
    unstarted: set[tuple[str, int]] = set()
    for installation_id in await app.installation_ids():
        client = app.for_installation(installation_id)
        for repo in await client.installation_repos():
            for number in await client.open_labelled_issues(repo, label):
                state = await GitHubRunHost(app, client, repo, number).load_state()
                if state is None:  # no status comment (an unreadable one loads as failed)
                    unstarted.add((repo.full_name, number))
                    continue
                if state.phase in (Phase.MERGED, Phase.CLOSED):
                    continue
                await index.add_if_absent(IndexEntry.of(repo.full_name, installation_id, state, 0))
                found += 1
    if unstarted:
        await redeliver_labels(app, unstarted, label)
    return found


async def redeliver_labels(app: InventoryApp, issues: set[tuple[str, int]], label: str) -> None:
    """Asks GitHub to deliver again the newest `labeled` delivery of each issue in `issues`
    (repository, number) that is still in the App's recent deliveries."""
    missing = set(issues)
    for delivery in sorted(await app.hook_deliveries(), key=lambda d: -d.id):
        if not missing:
            return
        if (delivery.event, delivery.action) != ("issues", "labeled"):
            continue
        payload = await app.hook_delivery_payload(delivery.id)
        repo = str((payload.get("repository") or {}).get("full_name") or "")
        number = int((payload.get("issue") or {}).get("number") or 0)
        if (repo, number) in missing and (payload.get("label") or {}).get("name") == label:
            await app.redeliver(delivery.id)
            missing.discard((repo, number))
            log.warning("label delivered again", extra={"repo": repo, "issue": number})


async def read_truth(client: GitHubClient, entry: IndexEntry) -> Truth:
    repo = Repo.parse(entry.repo)
    issue = await client.issue(repo, entry.issue)
    truth = Truth(issue.state == "open", tuple(issue.labels))
    if entry.pr_number is None:
        return truth
    pull = await client.pull(repo, entry.pr_number)
    return Truth(truth.issue_open, truth.labels, pull.state, pull.merged)


async def reconcile_runs(
    app: InventoryApp,
    redis: aioredis.Redis,
    queue: jobs.JobQueue,
    signals: RunSignals,
    settings: Settings,
    now: float | None = None,
) -> list[tuple[str, str]]:
    """One pass; returns (run, action key) for each event queued."""
    now = time.time() if now is None else now
    index = RunIndex(redis)
    if not await index.built():
        found = await rebuild(app, index, settings.trigger_label)
        await index.mark_built()
        log.warning("run index rebuilt from GitHub", extra={"runs": found})
    queued: list[tuple[str, str]] = []
    interval = settings.reconcile_interval_s
    for entry in await index.entries():
        if not needs_truth(entry, now, interval, SLOW_EVERY):
            continue
        held = await is_held(redis, run_dir_name(entry.repo, entry.issue))
        try:
            client = await app.client(Repo.parse(entry.repo), entry.installation_id)
            truth = await read_truth(client, entry)
        except Exception:
            # GitHub may be down for this run only (a deleted repository): the next pass
            # tries again, and the other runs go on.
            log.exception("reconcile read failed", extra={"run": entry.field})
            continue
        actions = decide(
            entry,
            truth,
            held=held,
            now=now,
            interval_s=interval,
            ci_timeout_s=settings.ci_timeout_s,
            trigger_label=settings.trigger_label,
        )
        for action in actions:
            await _act(queue, signals, entry, action)
            queued.append((entry.field, action.key))
        if entry.phase == Phase.ASKED.value:
            for number in (entry.issue, *([entry.pr_number] if entry.pr_number else [])):
                await signals.set_waiting(entry.repo, number, True)
    return queued


async def _act(
    queue: jobs.JobQueue, signals: RunSignals, entry: IndexEntry, action: Action
) -> None:
    kind = action.event.get("kind")
    # A working session stops at its next step, as it would for the event's own handler.
    if kind == "stop":
        await signals.request_stop(entry.repo, entry.issue)
    elif kind == "pull_closed":
        await signals.request_stop(entry.repo, entry.issue, reason="pull_closed")
    new = await queue.enqueue(
        jobs.ADVANCE_RUN,
        jobs.wake_job_id(entry.repo, entry.issue, action.key),
        jobs.RUN_QUEUE,
        repo=entry.repo,
        issue_number=entry.issue,
        installation_id=entry.installation_id,
        event=action.event,
    )
    log.info(
        "reconciled",
        extra={"run": entry.field, "key": action.key, "why": action.why, "new_job": new},
    )
