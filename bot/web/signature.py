"""Webhook signature check: HMAC-SHA256 over the exact bytes GitHub sent."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: bytes, body: bytes) -> str:
    return PREFIX + hmac.digest(secret, body, hashlib.sha256).hex()


def is_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body), header)
