"""How many wrong dashboard tokens one client address may send before it is made to wait.

Kept in the process's memory: each `serve` process counts on its own, and a restart forgets.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict, deque
from dataclasses import dataclass

from starlette.types import Scope


@dataclass(frozen=True)
class ThrottleLimits:
    max_failures: int = 10
    window_s: float = 300.0
    # Each tracked address holds at most `max_failures` times; past this many addresses the
    # one that failed longest ago is forgotten, so a flood of addresses cannot grow memory.
    max_addresses: int = 4096


class FailureThrottle:
    """Failures per address in a sliding window; successes are never recorded."""

    def __init__(self, limits: ThrottleLimits) -> None:
        self.limits = limits
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait_s(self, address: str, now: float) -> int | None:
        """Whole seconds `address` must wait before its token is looked at again; None when
        it may try now."""
        times = self._failures.get(address)
        if times is None or len(times) < self.limits.max_failures:
            return None
        left = times[0] + self.limits.window_s - now
        if left <= 0:
            return None
        return max(1, math.ceil(left))

    def fail(self, address: str, now: float) -> None:
        times = self._failures.pop(address, None)
        if times is None:
            times = deque(maxlen=self.limits.max_failures)
        times.append(now)
        self._failures[address] = times  # the most recent failure goes last
        while len(self._failures) > self.limits.max_addresses:
            self._failures.popitem(last=False)

    def __len__(self) -> int:
        return len(self._failures)


def client_key(scope: Scope) -> str:
    """Whom a request counts against: the ASGI client's address (behind a proxy, what uvicorn's
    proxy headers made of it), an IPv6 one by its /64, since one host commonly holds a whole
    /64 and would otherwise get a fresh allowance per address."""
    client = scope.get("client")
    host = str(client[0]) if client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
