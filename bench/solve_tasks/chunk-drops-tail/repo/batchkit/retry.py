"""How long to wait between attempts when the ingest service is busy."""

from typing import List


def backoff_delays(attempts: int, base: float = 0.5, cap: float = 8.0) -> List[float]:
    """Seconds to wait before each retry: doubling from `base`, never above `cap`."""
    delays = []
    delay = base
    for _ in range(attempts):
        delays.append(min(delay, cap))
        delay *= 2
    return delays
