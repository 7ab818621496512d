"""Coalesced edits of the status comment: at most one per interval, the last state wins.

Every transition saves the run's state into its status comment; a run passes a transition
every second or two while it works, and each edit is a write that GitHub's secondary limits
count (900 points a minute, 5 for a PATCH). Edits within `interval_s` of the last one wait and
merge; a timer writes the latest when the interval is over, so a worker that dies between two
edits loses at most that interval. Urgent bodies (endings, questions) go out at once, and
`flush` writes what is pending before a job lets go of its run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

log = logging.getLogger("pilot.status_edits")


def delay_before_write(
    urgent: bool, last_written: float | None, now: float, interval_s: float
) -> float:
    """Seconds to hold an edit back: 0 for the first, an urgent one, or after the interval."""
    if urgent or last_written is None:
        return 0.0
    return max(0.0, last_written + interval_s - now)


class CoalescedComment:
    """Writes bodies through `write`, merging those that come within `interval_s`."""

    def __init__(
        self,
        write: Callable[[str], Awaitable[None]],
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._interval_s = interval_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._last_written: float | None = None
        self._pending: str | None = None
        self._timer: asyncio.Task[None] | None = None

    @property
    def pending(self) -> str | None:
        return self._pending

    async def submit(self, body: str, urgent: bool = False) -> None:
        delay = delay_before_write(urgent, self._last_written, self._clock(), self._interval_s)
        if delay <= 0:
            self._pending = body
            await self._write_pending()
            return
        self._pending = body
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._write_later())

    async def flush(self) -> None:
        """Write what is pending now (a job's end); raises what the write raises."""
        timer, self._timer = self._timer, None
        if timer is not None and not timer.done():
            timer.cancel()
            with suppress(asyncio.CancelledError):
                await timer
        await self._write_pending()

    async def _write_later(self) -> None:
        # Measured again after each sleep: an urgent write meanwhile starts the interval anew.
        delay = delay_before_write(False, self._last_written, self._clock(), self._interval_s)
        for _ in range(3):
            if delay <= 0:
                break
            await asyncio.sleep(delay)
            delay = delay_before_write(False, self._last_written, self._clock(), self._interval_s)
        try:
            await self._write_pending()
        except Exception:
            # Kept pending: the next save or the job's flush writes it (and raises there).
            log.warning("a coalesced status edit failed; kept for the next write", exc_info=True)

    async def _write_pending(self) -> None:
        async with self._lock:
            body = self._pending
            if body is None:
                return
            self._pending = None
            try:
                await self._write(body)
            except BaseException:
                if self._pending is None:
                    self._pending = body
                raise
            self._last_written = self._clock()
