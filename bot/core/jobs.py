"""Queue and job names, deterministic job ids, and the narrow interface for enqueuing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from arq.connections import ArqRedis

from bot.core import job_codec

# Deliveries are short and many; runs are long and few. Separate queues keep a slow run from
# delaying the answer to the next webhook.
DELIVERY_QUEUE = "pilot:deliveries"
RUN_QUEUE = "pilot:runs"

PROCESS_DELIVERY = "process_delivery"
START_RUN = "start_run"
RUN_COMMAND = "run_command"
ADVANCE_RUN = "advance_run"


def delivery_job_id(delivery_id: str) -> str:
    return f"delivery:{delivery_id}"


def run_job_id(repo_full_name: str, issue_number: int) -> str:
    return f"run:{repo_full_name}#{issue_number}"


def command_job_id(repo_full_name: str, comment_id: int) -> str:
    # Keyed on the comment (inside the signed body), not the delivery id (outside it): a body
    # replayed under a new delivery id cannot run its command twice.
    return f"command:{repo_full_name}#{comment_id}"


def wake_job_id(repo_full_name: str, issue_number: int, key: str) -> str:
    # One job per event that may move a run on (`key` names it): a redelivered event queues
    # nothing new, two different events both get their turn.
    return f"wake:{repo_full_name}#{issue_number}:{key}"


class JobQueue(Protocol):
    async def enqueue(self, function: str, job_id: str, queue: str, **kwargs: Any) -> bool:
        """Enqueue once per job id; False when a job with that id already exists."""
        ...


class PicklingPool(ValueError):
    """An arq pool left on its default serializer, which would write pickles into Redis."""


@dataclass
class ArqJobQueue:
    pool: ArqRedis

    def __post_init__(self) -> None:
        # Caught where the queue is made, not by a worker refusing every job it was sent.
        if self.pool.job_serializer is not job_codec.serialize:
            raise PicklingPool("the pool must use bot.core.job_codec, not arq's pickle")

    async def enqueue(self, function: str, job_id: str, queue: str, **kwargs: Any) -> bool:
        job = await self.pool.enqueue_job(function, _job_id=job_id, _queue_name=queue, **kwargs)
        return job is not None
