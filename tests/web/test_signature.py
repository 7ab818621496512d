from __future__ import annotations

import hashlib
import hmac

from bot.web.signature import is_valid, sign


def test_matches_githubs_documented_example() -> None:
    # From GitHub's "Validating webhook deliveries" page.
    assert (
        sign(b"It's a Secret to Everybody", b"Hello, World!")
        == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_is_valid_only_for_the_exact_bytes_and_secret() -> None:
    body = b'{"action": "labeled"}'
    good = "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest()
    assert is_valid(b"s", body, good)
    assert not is_valid(b"s", body + b" ", good)
    assert not is_valid(b"t", body, good)
    assert not is_valid(b"s", body, good.upper())
    assert not is_valid(b"s", body, good.removeprefix("sha256="))
    assert not is_valid(b"s", body, None)
    assert not is_valid(b"s", body, "")
