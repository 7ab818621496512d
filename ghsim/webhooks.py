"""Webhook deliveries like GitHub's: persisted, signed, in order per repository, never retried.

``emit`` stores the delivery first (so a restart sends what was queued) and hands its id to
the repository's queue; one asyncio task per queue posts deliveries one at a time. As on
GitHub, each delivery gets one attempt: a receiver that is down or answers an error leaves a
failed delivery, listed by ``GET /app/hook/deliveries`` until someone redelivers it
(``POST /app/hook/deliveries/{id}/attempts``, :meth:`Webhooks.redeliver`). The fault mode
(`faults.py`) may drop, shuffle or delay deliveries on the way.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ghsim.app_views import AppView, builtin, registered
from ghsim.faults import DeliveryDice, DeliveryFaults
from ghsim.serialize import Serializer
from ghsim.state import SimState
from ghsim.store import Doc

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("ghsim.webhooks")
HOOK_ID = 1
# GitHub gives a receiver 10 s to answer.
TIMEOUT_S = 10.0
# status_code of a delivery that got no answer: GitHub records 502 ("failed to connect to
# host"); for a time-out ghsim chooses 504, inside the range `?status=failure` lists.
UNREACHABLE = 502
TIMED_OUT = 504
Subscriber = Callable[[str, Doc], None]


def sign(secret: str, body: bytes) -> tuple[str, str]:
    """``X-Hub-Signature`` (sha1) and ``X-Hub-Signature-256`` values for a body."""
    key = secret.encode()
    return (
        "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
        "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
    )


class Webhooks:
    def __init__(self, sim: SimState) -> None:
        self._sim = sim
        self._order_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: dict[str, asyncio.Queue[int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._delayed: set[asyncio.Task[None]] = set()
        self.dice = DeliveryDice(sim.config.delivery_faults)
        self._client: httpx.AsyncClient | None = None
        self._subscribers: list[Subscriber] = []
        # Apps registered from a manifest, each delivered to its own hook URL with its own
        # secret; read once, refreshed when one is registered.
        self._apps: dict[int, AppView] | None = None

    def subscribe(self, callback: Subscriber) -> None:
        """Call ``callback(event, payload)`` for every emitted event (e.g. to start CI)."""
        self._subscribers.append(callback)

    # emitting -----------------------------------------------------------------------------
    def emit(
        self,
        event: str,
        payload: dict[str, Any],
        repo_full_name: str | None = None,
        sender: Doc | None = None,
    ) -> Doc:
        """Complete ``payload`` with repository, installation and sender; deliver it.

        Thread-safe. ``sender`` is the acting user document (default: the App's bot user).
        Returns the stored delivery.
        """
        ser = Serializer(self._sim)
        full = dict(payload)
        repo = None
        if repo_full_name is not None:
            owner, _, name = repo_full_name.partition("/")
            repo = self._sim.find_repo(owner, name)
            if repo is not None and "repository" not in full:
                full["repository"] = ser.repository(repo)
        # An event about the built-in App's own installation is for it alone.
        others = [] if "installation" in full else self._subscribed_apps(event)
        if "installation" not in full:
            full["installation"] = ser.installation_lite()
        if "sender" not in full:
            full["sender"] = ser.user(sender or self._sim.bot_user)
        body = json.dumps(full, separators=(",", ":"))
        queue = repo_full_name or ""
        record: Doc = {
            "guid": str(uuid.uuid4()),
            "event": event,
            "action": full.get("action"),
            "queue": queue,
            "repository_id": None if repo is None else repo["id"],
            "installation_id": self._sim.identity.installation_id,
            "body": body,
            "redelivery": False,
            "status": "pending",
            "status_code": 0,
            "outcome": "pending",
            "delivered_at": _now(),
            "duration": 0.0,
            "attempts": [],
            "response": None,
        }
        with self._order_lock:
            delivery = self._sim.store.insert("delivery", record)
            self._schedule(delivery)
            for app in others:
                inst = app.installation_id
                mine = {
                    **full,
                    "installation": {"id": inst, "node_id": ser.node("Installation", inst)},
                }
                self._schedule(
                    self._sim.store.insert(
                        "delivery",
                        {
                            **record,
                            "guid": str(uuid.uuid4()),
                            "app_id": app.app_id,
                            "queue": f"app-{app.app_id}:{queue}",
                            "installation_id": inst,
                            "body": json.dumps(mine, separators=(",", ":")),
                        },
                    )
                )
        for callback in list(self._subscribers):
            try:
                callback(event, full)
            except Exception:
                log.exception("webhook subscriber failed for %s", event)
        return delivery

    def redeliver(self, delivery: Doc) -> Doc:
        """A new delivery of the same event with the same GUID, flagged ``redelivery``."""
        copy = {k: v for k, v in delivery.items() if k != "id"}
        copy.update(
            redelivery=True,
            status="pending",
            status_code=0,
            outcome="pending",
            attempts=[],
            response=None,
            duration=0.0,
            delivered_at=_now(),
        )
        with self._order_lock:
            new = self._sim.store.insert("delivery", copy)
            self._schedule(new)
        return new

    # Apps registered from a manifest ------------------------------------------------------
    def apps_changed(self) -> None:
        self._apps = None

    def _registered(self) -> dict[int, AppView]:
        apps = self._apps
        if apps is None:
            apps = self._apps = {a.app_id: a for a in registered(self._sim)}
        return apps

    def _subscribed_apps(self, event: str) -> list[AppView]:
        return [a for a in self._registered().values() if a.hook_url and event in a.events]

    def _target(self, delivery: Doc) -> tuple[str | None, str, int]:
        """Where a delivery goes: hook URL, secret and App id (the built-in App's if unset)."""
        app_id = delivery.get("app_id")
        if app_id is None:
            app = builtin(self._sim)
        elif (found := self._registered().get(int(app_id))) is not None:
            app = found
        else:
            return None, "", int(app_id)  # an App gone from the store: nowhere to go
        return app.hook_url, app.webhook_secret, app.app_id

    def url(self, delivery: Doc) -> str | None:
        return self._target(delivery)[0]

    def headers(self, delivery: Doc) -> dict[str, str]:
        _, secret, app_id = self._target(delivery)
        sha1, sha256 = sign(secret, delivery["body"].encode())
        return {
            "Accept": "*/*",
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/ghsim",
            "X-GitHub-Delivery": delivery["guid"],
            "X-GitHub-Event": delivery["event"],
            "X-GitHub-Hook-ID": str(HOOK_ID),
            "X-GitHub-Hook-Installation-Target-ID": str(app_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-Hub-Signature": sha1,
            "X-Hub-Signature-256": sha256,
        }

    # delivering ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Start delivering, sending what a previous run queued but never attempted."""
        self._loop = asyncio.get_running_loop()
        with self._order_lock:
            for delivery in self._sim.store.query("delivery", status="pending"):
                self._schedule(delivery)

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._delayed]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._delayed.clear()
        self._queues.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._loop = None

    def set_faults(self, faults: DeliveryFaults) -> None:
        """Apply the fault mode to deliveries from now on (a seed starts its sequence anew)."""
        self.dice = DeliveryDice(faults)

    def _schedule(self, delivery: Doc) -> None:
        loop = self._loop
        if loop is None or not self.url(delivery):
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._enqueue(delivery["queue"], delivery["id"])
        else:
            loop.call_soon_threadsafe(self._enqueue, delivery["queue"], delivery["id"])

    def _enqueue(self, key: str, delivery_id: int) -> None:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            self._tasks.append(asyncio.create_task(self._worker(queue)))
        queue.put_nowait(delivery_id)

    async def _worker(self, queue: asyncio.Queue[int]) -> None:
        while True:
            batch = await self._gather(queue)
            dice = self.dice
            for delivery_id in dice.ordered(batch):
                delay = dice.delay_s()
                if delay > 0:
                    task = asyncio.create_task(self._deliver_later(delivery_id, delay))
                    self._delayed.add(task)
                    task.add_done_callback(self._delayed.discard)
                else:
                    await self._deliver_logged(delivery_id)

    async def _gather(self, queue: asyncio.Queue[int]) -> list[int]:
        """The next delivery, or with reordering on, as many as the window holds that arrive
        within its hold time."""
        batch = [await queue.get()]
        faults = self.dice.faults
        loop = asyncio.get_running_loop()
        deadline = loop.time() + faults.reorder_hold_ms / 1000
        # Polled rather than awaited with a timeout: a get cancelled as it completes would
        # lose the delivery's id.
        while len(batch) < faults.reorder_window and loop.time() < deadline:
            try:
                batch.append(queue.get_nowait())
            except asyncio.QueueEmpty:
                await asyncio.sleep(0.005)
        return batch

    async def _deliver_later(self, delivery_id: int, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._deliver_logged(delivery_id)

    async def _deliver_logged(self, delivery_id: int) -> None:
        try:
            await self._deliver(delivery_id)
        except Exception:
            log.exception("delivery %s crashed", delivery_id)

    async def _deliver(self, delivery_id: int) -> None:
        """One attempt, as GitHub makes: a failure stays failed until someone redelivers it."""
        delivery = self._sim.store.get("delivery", delivery_id)
        if delivery is None or delivery["status"] != "pending":
            return
        if self.dice.dropped():
            attempt = _attempt_record()
            attempt.update(status_code=UNREACHABLE, error="dropped by ghsim's fault mode")
            self._record(delivery, attempt, "failed to connect to host", {})
            return
        await self._attempt(delivery)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx  # a fifth of a second of start-up that only deliveries need

            self._client = httpx.AsyncClient(timeout=TIMEOUT_S)
        return self._client

    async def _attempt(self, delivery: Doc) -> None:
        """Post once and record the outcome in GitHub's words."""
        import httpx  # for its errors; loaded by _http already, kept out of start-up

        url = self.url(delivery)
        assert url
        client = self._http()
        headers = self.headers(delivery)
        started = time.monotonic()
        attempt = _attempt_record()
        try:
            response = await client.post(url, content=delivery["body"].encode(), headers=headers)
            attempt.update(
                status_code=response.status_code,
                response_body=response.text[:4096],
                headers=dict(response.headers),
            )
            code = response.status_code
            status = "OK" if 200 <= code < 300 else f"Invalid HTTP Response: {code}"
        except httpx.TimeoutException as exc:
            attempt.update(status_code=TIMED_OUT, error=f"{type(exc).__name__}: {exc}")
            status = "timed out"
        except httpx.HTTPError as exc:
            attempt.update(status_code=UNREACHABLE, error=f"{type(exc).__name__}: {exc}")
            status = "failed to connect to host"
        attempt["duration"] = round(time.monotonic() - started, 3)
        self._record(delivery, attempt, status, headers)

    def _record(
        self, delivery: Doc, attempt: Doc, status: str, request_headers: dict[str, str]
    ) -> None:
        code = int(attempt["status_code"])
        self._sim.store.update(
            "delivery",
            delivery["id"],
            {
                "status": status,
                "status_code": code,
                # What `GET /app/hook/deliveries?status=` filters on, in GitHub's ranges.
                "outcome": "success" if 200 <= code < 400 else "failure",
                "duration": attempt["duration"],
                "delivered_at": attempt["at"],
                "request_headers": request_headers,
                "response": {"headers": attempt["headers"], "payload": attempt["response_body"]},
                "attempts": [*delivery["attempts"], attempt],
            },
        )


def _attempt_record() -> Doc:
    return {
        "at": _now(),
        "status_code": 0,
        "response_body": "",
        "headers": {},
        "duration": 0.0,
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
