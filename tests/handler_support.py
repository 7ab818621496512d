"""Runs deliveries through the worker's job function against real Redis and a faked GitHub."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import redis.asyncio as aioredis
from arq.connections import ArqRedis

from bot.core import job_codec, jobs
from bot.core.ci_index import RedisCiIndex
from bot.core.coordination import RedisCoordination
from bot.core.routing import Router
from bot.core.settings import Settings
from bot.core.signals import RedisRunSignals
from bot.delivery.context import HandlerContext
from bot.delivery.worker import process_delivery
from bot.github.backend import GitHubKitApp
from handlers import router as default_router
from tests.fake_github import load_payload


class RecordingQueue:
    """The JobQueue interface over real Redis, remembering what it was asked."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._queue = jobs.ArqJobQueue(codec_pool(redis))
        self.asked: list[tuple[str, str, str, dict[str, Any]]] = []

    async def enqueue(self, function: str, job_id: str, queue: str, **kwargs: Any) -> bool:
        self.asked.append((function, job_id, queue, kwargs))
        return await self._queue.enqueue(function, job_id, queue, **kwargs)


def codec_pool(redis: aioredis.Redis) -> ArqRedis:
    """An arq pool on `redis`'s connections that reads and writes jobs as the bot does."""
    return ArqRedis(
        connection_pool=redis.connection_pool,
        job_serializer=job_codec.serialize,
        job_deserializer=job_codec.deserialize,
    )


def worker_ctx(
    settings: Settings, github: GitHubKitApp, redis: aioredis.Redis, router: Router | None = None
) -> dict[str, Any]:
    if router is None:
        router = default_router
    queue = RecordingQueue(redis)
    return {
        "redis": redis,
        "router": router,
        "job_try": 1,
        "max_tries": settings.handler_max_tries,
        "handler_ctx": HandlerContext(
            settings=settings,
            github=github,
            jobs=queue,
            coordination=RedisCoordination(redis),
            signals=RedisRunSignals(redis),
            ci_index=RedisCiIndex(redis),
        ),
        "queue": queue,
    }


async def deliver(
    ctx: dict[str, Any], event: str, payload: dict[str, Any], delivery_id: str | None = None
) -> dict[str, list[str]]:
    # Through JSON, as the worker receives it from the queue.
    return await process_delivery(
        ctx, event, delivery_id or str(uuid.uuid4()), json.loads(json.dumps(payload))
    )


def labeled(label: str = "bug", sender: str = "Codertocat", bot: bool = False) -> dict[str, Any]:
    """The recorded `issues.labeled` payload, with the label and sender a scenario needs."""
    payload = load_payload("issues", "labeled")
    payload = copy.deepcopy(payload)
    payload["label"]["name"] = label
    payload["sender"]["login"] = sender
    payload["sender"]["type"] = "Bot" if bot else "User"
    return payload


def commented(body: str, sender: str = "Codertocat", bot: bool = False) -> dict[str, Any]:
    """The recorded `issue_comment.created` payload, with another comment body and sender."""
    payload = copy.deepcopy(load_payload("issue_comment", "created"))
    payload["comment"]["body"] = body
    payload["sender"]["login"] = sender
    payload["sender"]["type"] = "Bot" if bot else "User"
    return payload
