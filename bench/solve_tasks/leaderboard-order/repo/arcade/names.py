"""Player names as typed on the cabinet."""

import string

ALLOWED = set(string.ascii_letters + string.digits)


def valid_name(name: str) -> bool:
    """Three to eight letters or digits."""
    return 3 <= len(name) <= 8 and set(name) <= ALLOWED
