"""Which of GitHub's failed answers to try again, and after how long (pure: no I/O, no clock).

GitHub, "Rate limits for the REST API", section "Exceeding the rate limit": over a primary
limit the answer is 403 or 429 with `x-ratelimit-remaining: 0`, and no request should go
before `x-ratelimit-reset` (UTC epoch seconds); over a secondary limit it is 403 or 429 with
a message saying so, and no request should go before `retry-after` seconds, or else the reset,
"otherwise, wait for at least one minute before retrying", exponentially longer while it goes
on, and "throw an error after a specific number of retries". A 5xx is GitHub's own trouble
and usually passes within seconds (octokit's plugin-retry tries again with growing waits); so
does a connection that broke before an answer came.

Everything is bounded: a request is retried at most `max_retries` times and its waits together
never pass `max_wait_s`. A job that would wait longer gives up, and the run says what failed
(bot/run/kernel.py), rather than hold its lease and a worker slot for most of an hour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

# What a run holds out for, all retries of one request together.
MAX_WAIT_S = 180.0
# A POST may have been carried out although its answer was lost: sent again, it could make a
# second comment or pull request. Only an answer that says nothing was done retries it.
UNSAFE_WITHOUT_ANSWER = frozenset({"POST"})


@dataclass(frozen=True)
class Answer:
    """What came back for one request: `status` None when no answer came at all."""

    status: int | None
    headers: Mapping[str, str]
    message: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    # 5xx and lost connections: 1, 2, 4, 8 s (15 s in all with the defaults), each at most
    # `server_max_delay_s`.
    server_base_delay_s: float = 1.0
    server_max_delay_s: float = 16.0
    # A secondary limit without a wait named: a minute, then two, ...
    limit_base_delay_s: float = 60.0
    max_wait_s: float = MAX_WAIT_S

    def delay(
        self, method: str, answer: Answer, retries: int, waited_s: float, now: float
    ) -> float | None:
        """Seconds to wait before the next try of a request that got `answer`, after `retries`
        retries that waited `waited_s` in all; None to give up. `now` is UTC epoch seconds."""
        if retries >= self.max_retries:
            return None
        wait = self._wait(method, answer, retries, now)
        if wait is None or waited_s + wait > self.max_wait_s:
            return None
        return wait

    def _wait(self, method: str, answer: Answer, retries: int, now: float) -> float | None:
        if answer.status is None:
            if method.upper() in UNSAFE_WITHOUT_ANSWER:
                return None
            return self._backoff(retries)
        if answer.status >= 500:
            told = retry_after(answer.headers, now)
            return told if told is not None else self._backoff(retries)
        if not is_rate_limited(answer):
            return None
        told = retry_after(answer.headers, now)
        if told is None and answer.headers.get("x-ratelimit-remaining") == "0":
            told = until_reset(answer.headers, now)
        if told is None:
            told = self.limit_base_delay_s * 2**retries
        # Never 0: a limit answered at once again would only spend more of the budget.
        return max(told, 1.0)

    def _backoff(self, retries: int) -> float:
        return float(min(self.server_base_delay_s * 2**retries, self.server_max_delay_s))


def is_rate_limited(answer: Answer) -> bool:
    """403 or 429 that GitHub gives for a primary or a secondary rate limit; any other 403 is
    a refusal (permissions, a blocked user) that no wait changes."""
    if answer.status == 429:
        return True
    if answer.status != 403:
        return False
    headers = answer.headers
    return (
        "retry-after" in headers
        or headers.get("x-ratelimit-remaining") == "0"
        or "rate limit" in answer.message.lower()
    )


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """`retry-after` in seconds: GitHub sends a number; HTTP also allows a date."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def until_reset(headers: Mapping[str, str], now: float) -> float | None:
    value = headers.get("x-ratelimit-reset", "").strip()
    if not value.isdigit():
        return None
    # A second more: the reset is counted in whole seconds, a request at the edge is early.
    return max(0.0, int(value) - now) + 1.0
