"""GitHub's REST rate limits as pure rules: the numbers, and one credential's budget.

Numbers from GitHub's docs, "Rate limits for the REST API" and "Rate limits for GitHub Apps"
(docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
docs.github.com/en/apps/creating-github-apps/registering-a-github-app/rate-limits-for-github-apps):

* primary: 5,000 requests an hour per user; an App installation's minimum is 5,000 an hour,
  shared by all its tokens (GitHub adds 50 an hour per repository over 20 repositories and
  per user over 20 users of an organization, up to 12,500; 15,000 on Enterprise Cloud orgs:
  ghsim implements the base); 60 an hour unauthenticated, per IP address.
* secondary: at most 100 concurrent requests (REST and GraphQL together); at most 900 points a
  minute for REST (GET, HEAD, OPTIONS 1 point; POST, PATCH, PUT, DELETE 5) and 2,000 for
  GraphQL (query 1, mutation 5; ghsim counts every GraphQL request as 1); "in general, no
  more than 80 content-generating requests per minute and no more than 500 per hour".

Nothing here reads a clock or a request: the middleware passes ``now`` and what it saw.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, fields, replace
from typing import Literal

Resource = Literal["core", "graphql"]
Refusal = Literal["primary", "secondary"]

MINUTE = 60.0
HOUR = 3600.0
# GitHub: without a ``retry-after``, "wait for at least one minute before retrying"; ghsim
# answers a concurrency refusal with that minute.
CONCURRENCY_RETRY_AFTER = 60


@dataclass(frozen=True)
class RateLimits:
    """Limits ghsim enforces; on by default at GitHub's numbers (tests lower or raise them)."""

    enabled: bool = True
    installation_per_hour: int = 5000
    user_per_hour: int = 5000
    app_per_hour: int = 5000
    anonymous_per_hour: int = 60
    graphql_per_hour: int = 5000
    concurrent: int = 100
    points_per_minute: int = 900
    graphql_points_per_minute: int = 2000
    content_per_minute: int = 80
    content_per_hour: int = 500
    # GitHub answers "403 or 429"; githubkit, octokit and the bot must take both.
    status: int = 403

    def with_overrides(self, pairs: list[str]) -> RateLimits:
        """This with ``name=value`` overrides (the ``--rate-limit`` flag); unknown names raise."""
        known = {f.name: f.type for f in fields(self)}
        changes: dict[str, int | bool] = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in known:
                raise ValueError(f"unknown rate limit {pair!r}; known: {', '.join(known)}")
            if name == "enabled":
                changes[name] = value.strip().lower() in ("1", "true", "yes", "on")
            else:
                changes[name] = int(value)
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Verdict:
    """What to answer: ``refused`` is None when the request may go on."""

    limit: int
    used: int
    reset: int
    resource: Resource
    refused: Refusal | None = None
    retry_after: int | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def _wait_for_room(
    window: deque[tuple[float, int]], cap: int, cost: int, now: float, span: float
) -> float:
    """Seconds until the ``span``-long window holds room for ``cost`` more under ``cap``."""
    total = sum(points for _, points in window)
    for stamp, points in window:
        total -= points
        if total + cost <= cap:
            return max(stamp + span - now, 0.0)
    return 0.0


def _trim(window: deque[tuple[float, int]], now: float, span: float) -> None:
    while window and window[0][0] <= now - span:
        window.popleft()


@dataclass
class Budget:
    """One credential's counts: an hourly window per resource (it starts with the first
    request, as GitHub's ``x-ratelimit-reset`` shows) and the secondary limits' windows."""

    hourly: dict[Resource, tuple[float, int]] = field(default_factory=dict)
    points: dict[Resource, deque[tuple[float, int]]] = field(default_factory=dict)
    content_minute: deque[tuple[float, int]] = field(default_factory=deque)
    content_hour: deque[tuple[float, int]] = field(default_factory=deque)
    in_flight: int = 0

    def admit(
        self,
        limits: RateLimits,
        hourly_limit: int,
        resource: Resource,
        method: str,
        content: bool,
        now: float,
    ) -> Verdict:
        """Count the request if it may go on; say which limit refuses it otherwise."""
        start, used = self.hourly.get(resource, (now, 0))
        if now >= start + HOUR:
            start, used = now, 0
        reset = math.ceil(start + HOUR)
        if not limits.enabled:
            self.hourly[resource] = (start, used + 1)
            return Verdict(hourly_limit, used + 1, reset, resource)
        if used >= hourly_limit:
            self.hourly[resource] = (start, used)
            return Verdict(hourly_limit, used, reset, resource, "primary")
        refusal = Verdict(hourly_limit, used, reset, resource, "secondary")
        if self.in_flight >= limits.concurrent:
            return replace(refusal, retry_after=CONCURRENCY_RETRY_AFTER)
        cost = 1 if method in ("GET", "HEAD", "OPTIONS") or resource == "graphql" else 5
        cap = limits.points_per_minute if resource == "core" else limits.graphql_points_per_minute
        window = self.points.setdefault(resource, deque())
        _trim(window, now, MINUTE)
        waits = (
            [_wait_for_room(window, cap, cost, now, MINUTE)]
            if self._over(window, cap, cost)
            else []
        )
        if content:
            _trim(self.content_minute, now, MINUTE)
            _trim(self.content_hour, now, HOUR)
            if self._over(self.content_minute, limits.content_per_minute, 1):
                waits.append(
                    _wait_for_room(self.content_minute, limits.content_per_minute, 1, now, MINUTE)
                )
            if self._over(self.content_hour, limits.content_per_hour, 1):
                waits.append(
                    _wait_for_room(self.content_hour, limits.content_per_hour, 1, now, HOUR)
                )
        if waits:
            return replace(refusal, retry_after=max(1, math.ceil(max(waits))))
        window.append((now, cost))
        if content:
            self.content_minute.append((now, 1))
            self.content_hour.append((now, 1))
        self.hourly[resource] = (start, used + 1)
        return Verdict(hourly_limit, used + 1, reset, resource)

    @staticmethod
    def _over(window: deque[tuple[float, int]], cap: int, cost: int) -> bool:
        return sum(points for _, points in window) + cost > cap
