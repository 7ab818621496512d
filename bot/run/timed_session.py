"""A run's sandbox phases, timed for /metrics without touching the sandbox backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import perf_counter

from bot.metrics.timing import RunMetrics
from bot.sandbox.api import Sandbox, SandboxSession


class TimedSession:
    """A sandbox session whose phases report how long each held its container: from asking
    for the container to its removal, which is what a phase costs the host."""

    def __init__(self, session: SandboxSession, metrics: RunMetrics) -> None:
        self._session = session
        self._metrics = metrics

    @asynccontextmanager
    async def phase(self, name: str, network: bool = False) -> AsyncIterator[Sandbox]:
        since = perf_counter()
        try:
            async with self._session.phase(name, network=network) as sandbox:
                yield sandbox
        finally:
            await self._metrics.sandbox_seconds(name, perf_counter() - since)
