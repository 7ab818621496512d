"""Claims a delivery id and enqueues its arq job atomically, batching concurrent deliveries
into one Redis round trip."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import orjson
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from redis.exceptions import NoScriptError

from bot.core import job_codec, jobs

DEDUPE_KEY = "pilot:delivery:{}"
STAGING_KEY = "pilot:staging:{}"
_STAGING_TTL_MS = 60_000

# The same writes as arq's enqueue_job (job key with expiry, then the queue's sorted set), made
# atomic with the dedupe claim: a delivery is either claimed and queued, or neither. The job
# lives as long as the claim, so workers that are down for days still find it when they return.
# The job itself arrives staged under its own key by a plain SET just before: handing a large
# body to Lua as an argument costs Redis three times what the whole script does otherwise.
_CLAIM_AND_ENQUEUE = """
if redis.call('EXISTS', KEYS[5]) == 0 then
    return -1
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('DEL', KEYS[5])
    return 0
end
if redis.call('EXISTS', KEYS[2], KEYS[3]) == 0 then
    redis.call('RENAME', KEYS[5], KEYS[2])
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
    redis.call('ZADD', KEYS[4], ARGV[3], ARGV[4])
else
    redis.call('DEL', KEYS[5])
end
return 1
"""


class StagingLost(RuntimeError):
    """The staged job expired before its claim ran; nothing was claimed."""


@dataclass
class _Pending:
    job: bytes
    keys: list[str]
    args: list[Any]  # redis-py types script args as str; it sends ints as they are
    done: asyncio.Future[bool]


class DeliveryQueue:
    def __init__(self, pool: ArqRedis, dedupe_ttl_s: int) -> None:
        self._pool = pool
        self._ttl_s = dedupe_ttl_s
        self._sha = hashlib.sha1(_CLAIM_AND_ENQUEUE.encode()).hexdigest()
        self._script_loaded = False
        self._pending: list[_Pending] = []
        self._flushing: set[asyncio.Task[None]] = set()
        self.batches_sent = 0

    async def enqueue_once(self, event: str, delivery_id: str, body: bytes) -> bool:
        """False when the delivery id was seen within the dedupe window.

        `body` must be one JSON object, as `intake.judge` accepted it: it goes into the job
        verbatim, and the worker receives it parsed.
        """
        job_id = jobs.delivery_job_id(delivery_id)
        now_ms = int(time.time() * 1000)
        # arq's own job encoding through the same codec the workers read with. The body is
        # spliced in as it came, not re-serialised (a Fragment): a complete JSON value cannot
        # reach outside its own position in the job.
        job = serialize_job(
            jobs.PROCESS_DELIVERY,
            (event, delivery_id, orjson.Fragment(body)),
            {},
            None,
            now_ms,
            serializer=job_codec.serialize,
        )
        keys = [
            DEDUPE_KEY.format(delivery_id),
            job_key_prefix + job_id,
            result_key_prefix + job_id,
            jobs.DELIVERY_QUEUE,
            STAGING_KEY.format(delivery_id),
        ]
        loop = asyncio.get_running_loop()
        args = [self._ttl_s, self._ttl_s * 1000, now_ms, job_id]
        pending = _Pending(job, keys, args, loop.create_future())
        if not self._pending:
            loop.call_soon(self._start_flush)
        self._pending.append(pending)
        return await pending.done

    def _start_flush(self) -> None:
        # The loop keeps only weak references to tasks; this set keeps a flush alive.
        task = asyncio.ensure_future(self._flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _run(self, batch: list[_Pending]) -> list[Any]:
        # EVALSHA straight away: redis-py's Script objects ask SCRIPT EXISTS before every
        # pipeline, a second round trip on each batch.
        if not self._script_loaded:
            await self._pool.script_load(_CLAIM_AND_ENQUEUE)
            self._script_loaded = True
        async with self._pool.pipeline(transaction=False) as pipe:
            for item in batch:
                pipe.set(item.keys[-1], item.job, px=_STAGING_TTL_MS)
                pipe.evalsha(self._sha, len(item.keys), *item.keys, *item.args)
            replies: list[Any] = await pipe.execute()
        self.batches_sent += 1
        return replies[1::2]

    async def _flush(self) -> None:
        # Deliveries that arrived in the same loop iteration share one pipeline: under load
        # the round trip is paid once per batch instead of once per delivery.
        batch, self._pending = self._pending, []
        try:
            try:
                results = await self._run(batch)
            except NoScriptError:
                # Redis restarted or its scripts were flushed. Running a batch again is safe:
                # a delivery already claimed answers "duplicate", and is queued once either way.
                self._script_loaded = False
                results = await self._run(batch)
        except Exception as exc:
            for item in batch:
                if not item.done.done():
                    item.done.set_exception(exc)
            return
        for item, result in zip(batch, results, strict=True):
            if item.done.done():
                continue
            if result == -1:
                item.done.set_exception(StagingLost(item.keys[0]))
            else:
                item.done.set_result(bool(result))
