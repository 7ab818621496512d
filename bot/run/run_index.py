"""The index of unfinished runs the reconciler walks: one entry per run, in Redis.

Each job writes what its run rests in after it lets go (phase, pull request, the sha CI is
awaited on); an ending takes the run out. The index is a cache of GitHub's record, never the
record: when Redis loses it, the reconciler rebuilds it from GitHub (bot/run/reconciler.py).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis

from bot.run.state import ENDINGS, RunState

INDEX_KEY = "pilot:run-index"  # not "pilot:runs", the run queue's own key
# Set once the index is known to hold every unfinished run; gone with a wiped Redis.
BUILT_KEY = "pilot:run-index:built"


@dataclass(frozen=True)
class IndexEntry:
    repo: str
    issue: int
    installation_id: int | None
    phase: str = "queued"
    working: bool = False
    pr_number: int | None = None
    ci_sha: str | None = None
    ci_pushed_at: float | None = None
    trigger: str = "label"
    touched_at: float = 0.0

    @property
    def field(self) -> str:
        return f"{self.repo}#{self.issue}"

    @classmethod
    def of(cls, repo: str, installation_id: int | None, state: RunState, now: float) -> IndexEntry:
        return cls(
            repo=repo,
            issue=state.issue,
            installation_id=installation_id,
            phase=state.phase.value,
            working=state.working is not None,
            pr_number=state.pr_number,
            ci_sha=state.ci_sha,
            ci_pushed_at=state.ci_pushed_at,
            trigger=state.trigger,
            touched_at=now,
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> IndexEntry | None:
        try:
            data: Any = json.loads(raw)
            known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
            return cls(**known)
        except (ValueError, TypeError, KeyError):
            return None


class RunIndex:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def note(self, entry: IndexEntry) -> None:
        """What the run rests in now; an ending takes it out of the index."""
        if entry.phase in {p.value for p in ENDINGS}:
            await self._redis.hdel(INDEX_KEY, entry.field)  # type: ignore[misc]
            return
        await self._redis.hset(  # type: ignore[misc]
            INDEX_KEY, entry.field, json.dumps(asdict(entry), sort_keys=True)
        )

    async def add_if_absent(self, entry: IndexEntry) -> None:
        """A run asked for (or found by a rebuild): known from now on, without overwriting
        what its own jobs wrote."""
        await self._redis.hsetnx(  # type: ignore[misc]
            INDEX_KEY, entry.field, json.dumps(asdict(entry), sort_keys=True)
        )

    async def entries(self) -> list[IndexEntry]:
        raw = await self._redis.hgetall(INDEX_KEY)  # type: ignore[misc]
        found = (IndexEntry.from_json(value) for value in raw.values())
        return sorted((e for e in found if e is not None), key=lambda e: e.field)

    async def built(self) -> bool:
        return bool(await self._redis.exists(BUILT_KEY))

    async def mark_built(self) -> None:
        await self._redis.set(BUILT_KEY, "1")
