"""Query strings."""

from typing import Dict, List
from urllib.parse import parse_qs


def parse_query(query: str) -> Dict[str, List[str]]:
    """ "a=1&a=2&b=" -> {"a": ["1", "2"], "b": [""]}."""
    return parse_qs(query, keep_blank_values=True)
