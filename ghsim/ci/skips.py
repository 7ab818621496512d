"""Commit messages that skip `push` and `pull_request` workflows, as GitHub reads them.

"Skipping workflow runs" (GitHub Actions docs): `[skip ci]`, `[ci skip]`, `[no ci]`,
`[skip actions]` or `[actions skip]` anywhere in the head commit's message, or a
`skip-checks:true` / `skip-checks: true` trailer, last in the message's trailer block.
"""

from __future__ import annotations

import re

MARKERS = ("[skip ci]", "[ci skip]", "[no ci]", "[skip actions]", "[actions skip]")
_TRAILER = re.compile(r"skip-checks: ?true")


def skips_workflows(message: str) -> bool:
    if any(marker in message for marker in MARKERS):
        return True
    paragraphs = re.split(r"\n\s*\n", message.strip())
    if len(paragraphs) < 2:
        return False  # a trailer block follows the subject after a blank line
    last_line = paragraphs[-1].strip().splitlines()[-1].strip()
    return _TRAILER.fullmatch(last_line) is not None
