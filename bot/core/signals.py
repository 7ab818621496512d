"""Flags handlers raise for a run in Redis: stop it, and whether it waits for a person.

A run is named by its issue; `number` may also be the run's pull request, since people
comment on either. The controller sets `waiting` for both while it waits, and polls the stop
flag of both between agent steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

STOP_KEY = "pilot:stop:{}#{}"
PAUSE_KEY = "pilot:pause:{}#{}"
WAITING_KEY = "pilot:waiting:{}#{}"

# A stop nobody picked up within a day belongs to no live run.
STOP_TTL_S = 24 * 3600
# A run may wait for a person for weeks; the flag only outlives an abandoned run this long.
WAITING_TTL_S = 30 * 24 * 3600


@dataclass(frozen=True)
class StopFlag:
    """Why a stop was asked for, and when (epoch seconds): a request to run made after it
    was not meant to be stopped by it."""

    reason: str
    at: float

    def encode(self) -> str:
        return f"{self.reason}@{self.at:.3f}"

    @classmethod
    def decode(cls, raw: bytes | str) -> StopFlag:
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        reason, _, at = text.rpartition("@")
        try:
            return cls(reason or "stop", float(at))
        except ValueError:
            return cls(text or "stop", 0.0)  # a flag set before flags said when


def stop_key(repo_full_name: str, number: int) -> str:
    return STOP_KEY.format(repo_full_name, number)


def pause_key(repo_full_name: str, issue: int) -> str:
    return PAUSE_KEY.format(repo_full_name, issue)


def waiting_key(repo_full_name: str, number: int) -> str:
    return WAITING_KEY.format(repo_full_name, number)


class RunSignals(Protocol):
    async def request_stop(self, repo_full_name: str, number: int, reason: str = "stop") -> None:
        """Ask the run of `number` (issue or pull request) to stop at its next step; `reason`
        `pull_closed` lets the closed pull request's own event end the run."""
        ...

    async def stop_requested(self, repo_full_name: str, number: int) -> bool: ...

    async def stop_flag(self, repo_full_name: str, number: int) -> StopFlag | None: ...

    async def clear_stop(self, repo_full_name: str, number: int) -> None: ...

    async def request_pause(self, repo_full_name: str, issue: int, digest: str) -> None:
        """Ask the run of `issue` to pause at its next step unless its issue text hashes to
        `digest` already (the issue was edited; the run decides whether that changed it)."""
        ...

    async def pause_requested(self, repo_full_name: str, issue: int) -> str | None:
        """The hash of the edited text a pause was asked for, if one was."""
        ...

    async def clear_pause(self, repo_full_name: str, issue: int) -> None: ...

    async def set_waiting(self, repo_full_name: str, number: int, on: bool) -> None:
        """Mark (or unmark) `number` as waiting for a person's answer."""
        ...

    async def is_waiting(self, repo_full_name: str, number: int) -> bool: ...


class RedisRunSignals:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def request_stop(self, repo_full_name: str, number: int, reason: str = "stop") -> None:
        flag = StopFlag(reason, time.time()).encode()
        await self._redis.set(stop_key(repo_full_name, number), flag, ex=STOP_TTL_S)

    async def stop_requested(self, repo_full_name: str, number: int) -> bool:
        return bool(await self._redis.exists(stop_key(repo_full_name, number)))

    async def stop_flag(self, repo_full_name: str, number: int) -> StopFlag | None:
        value = await self._redis.get(stop_key(repo_full_name, number))
        return None if value is None else StopFlag.decode(value)

    async def clear_stop(self, repo_full_name: str, number: int) -> None:
        await self._redis.delete(stop_key(repo_full_name, number))

    async def request_pause(self, repo_full_name: str, issue: int, digest: str) -> None:
        await self._redis.set(pause_key(repo_full_name, issue), digest, ex=STOP_TTL_S)

    async def pause_requested(self, repo_full_name: str, issue: int) -> str | None:
        value = await self._redis.get(pause_key(repo_full_name, issue))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def clear_pause(self, repo_full_name: str, issue: int) -> None:
        await self._redis.delete(pause_key(repo_full_name, issue))

    async def set_waiting(self, repo_full_name: str, number: int, on: bool) -> None:
        key = waiting_key(repo_full_name, number)
        if on:
            await self._redis.set(key, "1", ex=WAITING_TTL_S)
        else:
            await self._redis.delete(key)

    async def is_waiting(self, repo_full_name: str, number: int) -> bool:
        return bool(await self._redis.exists(waiting_key(repo_full_name, number)))


class MemoryRunSignals:
    """The same flags in one process's memory, for tests and `run-local`."""

    def __init__(self) -> None:
        self._expires: dict[str, float] = {}
        self._values: dict[str, str] = {}

    def _set(self, key: str, ttl_s: int) -> None:
        self._expires[key] = time.monotonic() + ttl_s

    def _has(self, key: str) -> bool:
        expires = self._expires.get(key)
        if expires is None:
            return False
        if expires <= time.monotonic():
            del self._expires[key]
            return False
        return True

    async def request_stop(self, repo_full_name: str, number: int, reason: str = "stop") -> None:
        key = stop_key(repo_full_name, number)
        self._set(key, STOP_TTL_S)
        self._values[key] = StopFlag(reason, time.time()).encode()

    async def stop_requested(self, repo_full_name: str, number: int) -> bool:
        return self._has(stop_key(repo_full_name, number))

    async def stop_flag(self, repo_full_name: str, number: int) -> StopFlag | None:
        key = stop_key(repo_full_name, number)
        return StopFlag.decode(self._values.get(key, "stop@0")) if self._has(key) else None

    async def clear_stop(self, repo_full_name: str, number: int) -> None:
        self._expires.pop(stop_key(repo_full_name, number), None)

    async def request_pause(self, repo_full_name: str, issue: int, digest: str) -> None:
        key = pause_key(repo_full_name, issue)
        self._set(key, STOP_TTL_S)
        self._values[key] = digest

    async def pause_requested(self, repo_full_name: str, issue: int) -> str | None:
        key = pause_key(repo_full_name, issue)
        return self._values.get(key) if self._has(key) else None

    async def clear_pause(self, repo_full_name: str, issue: int) -> None:
        self._expires.pop(pause_key(repo_full_name, issue), None)

    async def set_waiting(self, repo_full_name: str, number: int, on: bool) -> None:
        key = waiting_key(repo_full_name, number)
        if on:
            self._set(key, WAITING_TTL_S)
        else:
            self._expires.pop(key, None)

    async def is_waiting(self, repo_full_name: str, number: int) -> bool:
        return self._has(waiting_key(repo_full_name, number))
