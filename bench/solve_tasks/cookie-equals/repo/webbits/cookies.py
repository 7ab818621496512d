"""The Cookie request header."""

from typing import Dict


def parse_cookie_header(header: str) -> Dict[str, str]:
    """ "a=1; b=2" -> {"a": "1", "b": "2"}; a later cookie of the same name wins."""
    cookies: Dict[str, str] = {}
    for part in header.split(";"):
        part = part.strip()
        if not part:
            continue
        name, value = part.split("=")
        cookies[name.strip()] = value.strip().strip('"')
    return cookies
