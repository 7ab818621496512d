"""The bearer check: exact bytes, any length, any scheme case."""

from __future__ import annotations

from bot.core.bearer import bearer_matches, same_secret


def test_only_the_same_bytes_match_whatever_their_lengths() -> None:
    assert same_secret(b"s3cret-token", b"s3cret-token")
    assert not same_secret(b"s3cret-toke", b"s3cret-token")
    assert not same_secret(b"s3cret-token-and-more", b"s3cret-token")
    assert not same_secret(b"", b"s3cret-token")


def test_the_header_carries_the_token_after_the_bearer_scheme() -> None:
    token = b"s3cret-token"
    assert bearer_matches("Bearer s3cret-token", token)
    assert bearer_matches("bearer  s3cret-token ", token)
    assert not bearer_matches("Basic s3cret-token", token)
    assert not bearer_matches("Bearer s3cret", token)
    assert not bearer_matches(None, token)
    # Headers arrive as latin-1 text: a non-ASCII guess is compared as the bytes sent.
    assert not bearer_matches("Bearer s3cret-tok\xe9n", token)
