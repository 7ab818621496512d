"""The web process's count of deliveries by outcome and event, kept in memory.

It is on the intake's hot path, which answers in about a millisecond: one dict increment,
no lock (one event loop) and no Redis. Each web process counts its own; Prometheus sums
them across processes.
"""

from __future__ import annotations

from collections.abc import Iterable

OTHER_EVENT = "other"


class DeliveryCounts:
    def __init__(self, outcomes: Iterable[str], events: Iterable[str]) -> None:
        self.outcomes = tuple(outcomes)
        # The event header is unverified on a refused delivery: any value an attacker sends
        # would be a new series, so only events the app knows get their own label.
        self._label: dict[str | None, str] = {e: e for e in events}
        self._label[None] = ""
        self._counts: dict[tuple[str, str], int] = {}

    def add(self, outcome: str, event: str | None) -> None:
        key = (outcome, self._label.get(event, OTHER_EVENT))
        self._counts[key] = self._counts.get(key, 0) + 1

    def counts(self) -> dict[tuple[str, str], int]:
        """(outcome, event) → deliveries; every outcome appears, those never seen at 0 with
        no event."""
        seen = {outcome for outcome, _ in self._counts}
        return {**{(o, ""): 0 for o in self.outcomes if o not in seen}, **self._counts}
