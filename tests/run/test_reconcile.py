"""The reconciler's decisions (pure), and the inbox and fenced lease it relies on (Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.delivery.redeliver import MAX_TRIES, PER_PASS, Tries, to_redeliver
from bot.github.api import HookDelivery
from bot.run.inbox import RedisRunInbox
from bot.run.lease import LEASE_KEY, LeaseLost, lease
from bot.run.reconcile import Truth, decide, needs_truth
from bot.run.reconciler import redeliver_labels
from bot.run.run_index import IndexEntry, RunIndex

OPEN = Truth(True, ("pilot",))
NOW = 10_000.0


def entry(phase: str, **fields: Any) -> IndexEntry:
    return IndexEntry("o/r", 7, 1, phase=phase, **fields)


def kinds(e: IndexEntry, truth: Truth = OPEN, held: bool = False, now: float = NOW) -> list[str]:
    actions = decide(
        e, truth, held=held, now=now, interval_s=60, ci_timeout_s=600, trigger_label="pilot"
    )
    return [str(a.event["kind"]) for a in actions]


def test_a_run_left_working_without_a_job_is_resumed_unless_a_job_holds_it() -> None:
    assert kinds(entry("execute")) == ["resume"]
    assert kinds(entry("queued")) == ["resume"]
    assert kinds(entry("await_ci", working=True)) == ["resume"]
    assert kinds(entry("execute"), held=True) == []


def test_a_closed_or_unlabelled_issue_stops_the_run_even_while_held() -> None:
    assert kinds(entry("execute"), Truth(False, ("pilot",)), held=True) == ["stop"]
    assert kinds(entry("asked"), Truth(True, ())) == ["stop"]
    # `/pilot run` needs no label.
    assert kinds(entry("asked", trigger="command"), Truth(True, ())) == []


def test_a_closed_pull_request_ends_the_run_under_the_handlers_key() -> None:
    truth = Truth(True, ("pilot",), "closed", True)
    [action] = decide(
        entry("await_ci", pr_number=3),
        truth,
        held=True,
        now=NOW,
        interval_s=60,
        ci_timeout_s=600,
        trigger_label="pilot",
    )
    assert action.event == {"kind": "pull_closed", "pull": 3, "merged": True}
    assert action.key == "pr_closed:3"


def test_ci_is_asked_again_and_a_passed_time_out_fires() -> None:
    waiting = entry("await_ci", pr_number=3, ci_sha="abc", ci_pushed_at=NOW - 10)
    assert kinds(waiting) == ["ci"]
    late = entry("await_ci", pr_number=3, ci_sha="abc", ci_pushed_at=NOW - 601)
    [action] = decide(
        late, OPEN, held=False, now=NOW, interval_s=60, ci_timeout_s=600, trigger_label="pilot"
    )
    assert action.event == {"kind": "ci_timeout", "sha": "abc"} and action.key == "ci_timeout:abc"


def test_runs_waiting_on_people_are_looked_at_every_few_passes() -> None:
    assert kinds(entry("asked")) == [] and kinds(entry("ready")) == []
    looked = [needs_truth(entry("asked"), 60.0 * n, 60, 5) for n in range(10)]
    assert looked.count(True) == 2
    assert all(needs_truth(entry("await_ci"), 60.0 * n, 60, 5) for n in range(10))


def delivery(id: int, guid: str, code: int, status: str = "") -> HookDelivery:
    return HookDelivery(
        id, guid, "2026-12-04T10:00:00Z", id > 100, code, "issues", "labeled", status
    )


def test_only_events_no_attempt_delivered_are_redelivered_once_each() -> None:
    deliveries = [
        delivery(1, "a", 0, "failed to connect to host"),
        delivery(2, "b", 200, "OK"),
        delivery(3, "c", 502, "Invalid HTTP Response: 502"),
        delivery(104, "c", 502, "Invalid HTTP Response: 502"),
        delivery(5, "d", 500),
        delivery(106, "d", 200, "OK"),
    ]

    def ids(tries: dict[str, Tries]) -> list[int]:
        return [d.id for d in to_redeliver(deliveries, tries, NOW, 60)]

    assert ids({}) == [1, 104]
    assert ids({"a": Tries(MAX_TRIES, 0)}) == [104]
    # The first few go one a pass; then 2, 4… passes apart.
    assert ids({"a": Tries(1, NOW - 10)}) == [104]
    assert ids({"a": Tries(2, NOW - 60)}) == [1, 104]
    assert ids({"a": Tries(3, NOW - 60)}) == [104]
    assert ids({"a": Tries(3, NOW - 120)}) == [1, 104]
    assert ids({"a": Tries(4, NOW - 120)}) == [104]


def test_a_backlog_of_failed_deliveries_goes_out_a_few_a_pass() -> None:
    backlog = [delivery(n, f"g{n}", 502) for n in range(1, 40)]
    assert [d.id for d in to_redeliver(backlog, {}, NOW, 60)] == list(range(1, PER_PASS + 1))


async def test_the_inbox_keeps_order_and_takes_back_cut_short_work(redis: aioredis.Redis) -> None:
    inbox = RedisRunInbox(redis)
    for n in range(3):
        await inbox.put("run", {"kind": "ci", "n": n})
    first = await inbox.take("run")
    assert first == {"kind": "ci", "n": 0}
    await inbox.put_back("run", first)
    assert [await inbox.take("run") for _ in range(4)] == [
        {"kind": "ci", "n": 0},
        {"kind": "ci", "n": 1},
        {"kind": "ci", "n": 2},
        None,
    ]


async def test_the_index_forgets_ended_runs(redis: aioredis.Redis) -> None:
    index = RunIndex(redis)
    await index.add_if_absent(entry("queued"))
    await index.add_if_absent(entry("execute"))  # never over what a job wrote
    assert [e.phase for e in await index.entries()] == ["queued"]
    await index.note(entry("await_ci", ci_sha="abc"))
    assert [e.ci_sha for e in await index.entries()] == ["abc"]
    await index.note(entry("merged"))
    assert await index.entries() == []


async def test_a_lease_taken_over_fails_its_old_holders_check(redis: aioredis.Redis) -> None:
    async with lease(redis, "fenced", "a", ttl_s=3) as held:
        await held.check()
        await redis.set(LEASE_KEY.format("fenced"), "b#99")  # another worker took it
        with pytest.raises(LeaseLost):
            await held.check()
        assert held.lost.is_set()
    assert (await redis.get(LEASE_KEY.format("fenced"))) == b"b#99"


class HangingRedis:
    """Redis that stops answering (paused) after the lease is taken."""

    def __init__(self, inner: aioredis.Redis) -> None:
        self.inner = inner
        self.paused = False

    async def _hang(self) -> None:
        await asyncio.sleep(3600)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.paused:
                await self._hang()
            return await method(*args, **kwargs)

        return call


async def test_a_holder_that_cannot_renew_gives_up_before_the_key_expires(
    redis: aioredis.Redis,
) -> None:
    hanging = HangingRedis(redis)
    async with lease(hanging, "paused", "a", ttl_s=1.5) as held:  # type: ignore[arg-type]
        hanging.paused = True
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(held.lost.wait(), 3)
        gave_up = asyncio.get_running_loop().time() - started
        # Within the TTL: before Redis could hand the run to another worker.
        assert gave_up < 1.5
        assert await redis.exists(LEASE_KEY.format("paused"))
        with pytest.raises(LeaseLost):
            await held.check()
        hanging.paused = False


class FakeApp:
    """The App's recent deliveries, as `GET /app/hook/deliveries` and its details list them."""

    def __init__(self, payloads: dict[int, dict[str, Any]]) -> None:
        self.payloads = payloads
        self.redelivered: list[int] = []

    async def hook_deliveries(self, pages: int = 3) -> list[HookDelivery]:
        return [delivery(n, f"g{n}", 202, "OK") for n in self.payloads]

    async def hook_delivery_payload(self, delivery_id: int) -> dict[str, Any]:
        return self.payloads[delivery_id]

    async def redeliver(self, delivery_id: int) -> None:
        self.redelivered.append(delivery_id)


def labeled(number: int, label: str = "pilot", repo: str = "o/r") -> dict[str, Any]:
    return {
        "label": {"name": label},
        "issue": {"number": number},
        "repository": {"full_name": repo},
    }


async def test_a_label_taken_but_lost_with_redis_is_delivered_again() -> None:
    # Delivered fine, so no redelivery of failures catches it; the run never began.
    app = FakeApp({1: labeled(7), 2: labeled(7), 3: labeled(8, "bug"), 4: labeled(9, repo="o/x")})
    await redeliver_labels(app, {("o/r", 7), ("o/r", 8)}, "pilot")  # type: ignore[arg-type]
    assert app.redelivered == [2]  # the newest label of #7; #8's label is not the trigger
