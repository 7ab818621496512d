"""`Authorization: Bearer <token>`, checked in constant time (the dashboard and /metrics)."""

from __future__ import annotations

import hashlib
import hmac


def same_secret(given: bytes, expected: bytes) -> bool:
    """Whether `given` is `expected`, in time that depends on neither: `compare_digest` alone
    returns at once on a length mismatch, which tells a guesser the token's length, so both
    sides are hashed to one length first."""
    return hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(expected).digest())


def bearer_matches(header: str | None, token: bytes) -> bool:
    """Whether `header` carries exactly `token`. Headers come decoded as latin-1 (as ASGI and
    Starlette give them), so they are compared as the bytes the client sent; a failure says
    nothing about how close the guess was, nor how long the token is."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and same_secret(given.strip().encode("latin-1"), token)
