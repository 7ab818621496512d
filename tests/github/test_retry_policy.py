"""The retry policy as a pure decision: GitHub's answers in, a wait (or none) out."""

from __future__ import annotations

from email.utils import formatdate

from bot.github.retry_policy import Answer, RetryPolicy, is_rate_limited

NOW = 1_700_000_000.0
POLICY = RetryPolicy()


def test_a_5xx_that_names_a_wait_is_given_it() -> None:
    answer = Answer(503, {"retry-after": "20"}, "Service Unavailable")
    assert POLICY.delay("GET", answer, 0, 0.0, NOW) == 20.0


def test_retry_after_may_be_a_date() -> None:
    answer = Answer(429, {"retry-after": formatdate(NOW + 42, usegmt=True)})
    assert POLICY.delay("POST", answer, 0, 0.0, NOW) == 42.0


def test_a_limit_is_never_retried_at_once() -> None:
    answer = Answer(429, {"retry-after": "0"})
    assert POLICY.delay("GET", answer, 0, 0.0, NOW) == 1.0


def test_retries_and_waits_are_bounded() -> None:
    answer = Answer(502, {}, "Server Error")
    assert POLICY.delay("GET", answer, POLICY.max_retries, 0.0, NOW) is None
    assert POLICY.delay("GET", answer, 0, POLICY.max_wait_s - 0.5, NOW) is None
    assert POLICY.delay("GET", answer, 3, 7.0, NOW) == 8.0


def test_only_limits_make_a_403_worth_waiting_for() -> None:
    assert is_rate_limited(Answer(403, {"x-ratelimit-remaining": "0"}))
    assert is_rate_limited(Answer(403, {}, "You have exceeded a secondary rate limit."))
    assert not is_rate_limited(Answer(403, {"x-ratelimit-remaining": "12"}, "Forbidden"))
    assert not is_rate_limited(Answer(404, {"retry-after": "5"}))
    assert POLICY.delay("GET", Answer(404, {"retry-after": "5"}), 0, 0.0, NOW) is None
