"""What to do with GitHub's rate-limit answers: wait as told and try again, a few times.

GitHub answers a request over a limit with 403 or 429; a secondary limit's answer carries
`retry-after` (seconds), a primary one `x-ratelimit-remaining: 0` and `x-ratelimit-reset`
("Rate limits for the REST API", section "Exceeding the rate limit"). githubkit turns both
into `RateLimitExceeded` with the wait it read; this decides whether to sleep it out.
"""

from __future__ import annotations

from datetime import timedelta

from githubkit.exception import GitHubException, RateLimitExceeded
from githubkit.retry import RETRY_SERVER_ERROR, RetryChainDecision
from githubkit.typing import RetryDecisionFunc, RetryOption

# A job that would wait longer than this for its budget gives up (the run reports it) rather
# than hold its lease and a worker slot for most of an hour.
MAX_WAIT = timedelta(minutes=3)
MAX_RETRIES = 4


class RetryOnLimit:
    def __init__(self, max_retries: int = MAX_RETRIES, max_wait: timedelta = MAX_WAIT) -> None:
        self.max_retries = max_retries
        self.max_wait = max_wait

    def __call__(self, exc: GitHubException, retry_count: int) -> RetryOption:
        if not isinstance(exc, RateLimitExceeded) or retry_count >= self.max_retries:
            return RetryOption(False)
        if exc.retry_after > self.max_wait:
            return RetryOption(False)
        # Never 0: a refusal answered at once again would only spend the budget.
        return RetryOption(True, max(exc.retry_after, timedelta(seconds=1)))


def retry_decision() -> RetryDecisionFunc:
    return RetryChainDecision(RetryOnLimit(), RETRY_SERVER_ERROR)
