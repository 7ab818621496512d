"""What housekeeping removes (pure): entries unused for longer than an age, and the least
recently used ones while the rest exceeds a size budget. The callers read the filesystem, say
what is in use, and do the removing."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

DAY_S = 24 * 3600


@dataclass(frozen=True)
class Entry:
    """Something housekeeping may remove: its name, its last use (epoch seconds), its bytes."""

    name: str
    last_used: float
    size: int = 0


def expired(
    entries: Iterable[Entry], now: float, max_age_s: float, keep: Collection[str] = ()
) -> list[str]:
    """Names of the entries last used more than `max_age_s` before `now`, but for `keep`."""
    cutoff = now - max_age_s
    return sorted(e.name for e in entries if e.last_used < cutoff and e.name not in keep)


def over_budget(entries: Iterable[Entry], budget: int, keep: Collection[str] = ()) -> list[str]:
    """Names to evict, least recently used first, until the rest fits in `budget` bytes.

    Entries in `keep` are in use: they count toward the total but are never evicted, so the
    rest may all go when they alone exceed the budget."""
    ordered = sorted(entries, key=lambda e: (e.last_used, e.name))
    total = sum(e.size for e in ordered)
    evicted: list[str] = []
    for entry in ordered:
        if total <= budget:
            break
        if entry.name in keep:
            continue
        evicted.append(entry.name)
        total -= entry.size
    return evicted
