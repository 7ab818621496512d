"""ghsim's fault mode, as plain decisions: which webhook deliveries to drop, hold back and
shuffle, or delay, and which API requests to answer with an error instead of serving them.

GitHub loses deliveries (it never redelivers one by itself), does not promise their order,
and answers 5xx or a secondary rate limit now and then; tests and benches turn these on to
see the bot cope. Nothing here does I/O or reads a clock: `webhooks.py` and `api_faults.py`
apply the decisions and pass ``now``. Seeded, the same deliveries get the same decisions,
so a bench run can be replayed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, TypeVar

T = TypeVar("T")

# A hold longer than this would stall a repository's deliveries for good in practice.
MAX_HOLD_MS = 10_000
MAX_DELAY_MS = 600_000


@dataclass(frozen=True)
class DeliveryFaults:
    """What happens to webhook deliveries; the default is none of it."""

    # Fraction (0 to 1) of deliveries recorded as failed without being sent, as a delivery to
    # an unreachable hook is ("failed to connect to host"); redelivery through the API works.
    drop: float = 0.0
    # Deliveries of one queue (a repository's) gathered up to this many, then sent shuffled;
    # 1 keeps GitHub's usual order.
    reorder_window: int = 1
    # How long a gathered window waits for more deliveries after its first.
    reorder_hold_ms: int = 200
    # Each delivery waits this long before it is sent (up to it, uniformly, when random);
    # delayed deliveries travel independently, so they may overtake each other.
    delay_ms: int = 0
    delay_random: bool = False
    # Seeds the decisions; None draws a fresh seed.
    seed: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.drop <= 1.0:
            problems.append("drop must be between 0 and 1")
        if not 1 <= self.reorder_window <= 100:
            problems.append("reorder_window must be between 1 and 100")
        if not 0 <= self.reorder_hold_ms <= MAX_HOLD_MS:
            problems.append(f"reorder_hold_ms must be between 0 and {MAX_HOLD_MS}")
        if not 0 <= self.delay_ms <= MAX_DELAY_MS:
            problems.append(f"delay_ms must be between 0 and {MAX_DELAY_MS}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def active(self) -> bool:
        return self.drop > 0 or self.reorder_window > 1 or self.delay_ms > 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, pairs: Sequence[str]) -> DeliveryFaults:
        """This with ``name=value`` overrides (``--delivery-fault``); unknown names raise."""
        known = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in known:
                raise ValueError(f"unknown delivery fault {pair!r}; known: {', '.join(known)}")
            changes[name] = _typed(name, value.strip())
        return replace(self, **changes)


def _typed(name: str, value: str) -> Any:
    if name == "drop":
        return float(value)
    if name == "delay_random":
        return value.lower() in ("1", "true", "yes", "on")
    if name == "seed" and value.lower() in ("", "none"):
        return None
    return int(value)


class DeliveryDice:
    """The seeded decisions for one :class:`DeliveryFaults` setting.

    Each kind of decision has its own generator, so turning delays on does not change which
    deliveries a seed drops.
    """

    def __init__(self, faults: DeliveryFaults) -> None:
        self.faults = faults
        seed = faults.seed if faults.seed is not None else random.SystemRandom().getrandbits(64)
        self._drop = random.Random(f"{seed}:drop")
        self._order = random.Random(f"{seed}:order")
        self._delay = random.Random(f"{seed}:delay")

    def dropped(self) -> bool:
        return self.faults.drop > 0 and self._drop.random() < self.faults.drop

    def ordered(self, batch: list[T]) -> list[T]:
        """The gathered window in the order to send it."""
        if len(batch) < 2:
            return batch
        shuffled = list(batch)
        self._order.shuffle(shuffled)
        return shuffled

    def delay_s(self) -> float:
        ms = self.faults.delay_ms
        if ms and self.faults.delay_random:
            return self._delay.uniform(0, ms) / 1000
        return ms / 1000


# API faults ---------------------------------------------------------------------------------

# Statuses a rule may answer with: what GitHub's API sends when it is unwell or limiting.
API_FAULT_STATUSES = frozenset({403, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class ApiRule:
    """Answer matching API requests with ``status`` for ``seconds`` or ``count`` requests
    (whichever ends first; neither: until cleared)."""

    method: str
    # Matched in full against the path below ``/api/v3`` (``/graphql`` for GraphQL), e.g.
    # ``/repos/.+/issues/comments/\d+``.
    path: str
    status: int
    seconds: float | None = None
    count: int | None = None
    retry_after: int | None = None
    # Replaces the message GitHub sends with that status.
    message: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        problems = []
        if self.method != "*" and not self.method.isalpha():
            problems.append("method must be an HTTP method or *")
        try:
            re.compile(self.path)
        except re.error as exc:
            problems.append(f"path is not a regular expression: {exc}")
        if self.status not in API_FAULT_STATUSES:
            allowed = ", ".join(str(s) for s in sorted(API_FAULT_STATUSES))
            problems.append(f"status must be one of {allowed}")
        if self.seconds is not None and self.seconds <= 0:
            problems.append("seconds must be positive")
        if self.count is not None and self.count < 1:
            problems.append("count must be at least 1")
        if self.retry_after is not None and self.retry_after < 0:
            problems.append("retry_after must not be negative")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def parse(cls, spec: str) -> ApiRule:
        """``METHOD PATH STATUS [seconds=N] [count=N] [retry_after=N]`` (``--api-fault``)."""
        parts = spec.split()
        if len(parts) < 3 or not parts[2].isdigit():
            raise ValueError(f"api fault {spec!r}: expected METHOD PATH STATUS [name=value...]")
        options: dict[str, Any] = {}
        for pair in parts[3:]:
            name, sep, value = pair.partition("=")
            if name == "seconds" and sep:
                options[name] = float(value)
            elif name in ("count", "retry_after") and sep:
                options[name] = int(value)
            else:
                raise ValueError(f"api fault {spec!r}: unknown option {pair!r}")
        return cls(parts[0], parts[1], int(parts[2]), **options)


@dataclass
class ActiveRule:
    """A rule in force: its id, when it ends, and what it has answered so far."""

    id: int
    rule: ApiRule
    created_at: float
    expires_at: float | None
    remaining: int | None
    hits: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.rule.path)

    def live(self, now: float) -> bool:
        expired = self.expires_at is not None and now >= self.expires_at
        return not expired and self.remaining != 0

    def matches(self, method: str, path: str) -> bool:
        wanted = self.rule.method
        return wanted in ("*", method.upper()) and self._pattern.fullmatch(path) is not None

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            **asdict(self.rule),
            "hits": self.hits,
            "remaining": self.remaining,
            "expires_in": None if self.expires_at is None else round(self.expires_at - now, 3),
        }


class ApiFaults:
    """The API fault rules in force; the first live rule matching a request answers it."""

    def __init__(self, rules: Sequence[ApiRule] = (), now: float = 0.0) -> None:
        self._rules: list[ActiveRule] = []
        self._next_id = 1
        for rule in rules:
            self.add(rule, now)

    def add(self, rule: ApiRule, now: float) -> ActiveRule:
        expires = None if rule.seconds is None else now + rule.seconds
        active = ActiveRule(self._next_id, rule, now, expires, rule.count)
        self._next_id += 1
        self._rules.append(active)
        return active

    def answer(self, method: str, path: str, now: float) -> ActiveRule | None:
        """The rule that answers this request, its count spent; None to serve it."""
        self._prune(now)
        for active in self._rules:
            if active.matches(method, path):
                active.hits += 1
                if active.remaining is not None:
                    active.remaining -= 1
                return active
        return None

    def listed(self, now: float) -> list[dict[str, Any]]:
        self._prune(now)
        return [r.as_json(now) for r in self._rules]

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) < before

    def clear(self) -> None:
        self._rules.clear()

    def _prune(self, now: float) -> None:
        self._rules = [r for r in self._rules if r.live(now)]


def api_path(path: str) -> str:
    """What a rule's ``path`` is matched against: the path below ``/api/v3`` (or ``/api``)."""
    for prefix in ("/api/v3", "/api"):
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path
