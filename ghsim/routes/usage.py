"""ghsim's own counter of API calls per credential (not a GitHub endpoint): what benches and
tests read to see how much a client spends. ``GET`` reads, ``DELETE`` starts the count anew
(budgets are kept: a reset of the count never refills a rate limit)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ghsim.ratelimit import RateLimiter

router = APIRouter()


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


@router.get("/_ghsim/usage")
async def read_usage(request: Request) -> dict[str, Any]:
    return _limiter(request).snapshot()


@router.delete("/_ghsim/usage", status_code=204)
async def reset_usage(request: Request) -> Response:
    _limiter(request).reset_usage()
    return Response(status_code=204)
