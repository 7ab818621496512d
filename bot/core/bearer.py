"""`Authorization: Bearer <token>`, checked in constant time (the dashboard and /metrics)."""

from __future__ import annotations

import hmac


def bearer_matches(header: str | None, token: bytes) -> bool:
    """Whether `header` carries exactly `token`. Headers come decoded as latin-1 (as ASGI and
    Starlette give them), so they are compared as the bytes the client sent; a failure says
    nothing about how close the guess was."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("latin-1"), token
    )
