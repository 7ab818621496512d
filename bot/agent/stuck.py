"""Noticing an agent that repeats itself: the same call with the same answer. A call that failed
gets a nudge to try something else the third time; one that worked (a search, a read, a passing
test run) gets a reminder the second time, since the answer is already in front of it. The fourth
time either way, the node stops with a question to people, which costs a person a minute instead
of the run's whole budget."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

NUDGE_AT = 3
ASK_AT = 4
REMIND_AT = 2
Verdict = Literal["ok", "remind", "nudge", "ask"]

_EXIT = re.compile(r"^exit code (\d+)")


def failed(observation: str) -> bool:
    """Whether a tool's observation reports a failure: an error, a refusal, a command that exited
    non-zero or timed out."""
    if observation.startswith(("Error:", "Not finished:")):
        return True
    if observation.startswith("timed out"):
        return True
    found = _EXIT.match(observation)
    return found is not None and found.group(1) != "0"


@dataclass
class StuckWatch:
    counts: Counter[str] = field(default_factory=Counter)

    def see(self, tool: str, arguments: str, observation: str) -> Verdict:
        """Counts a call; what to do about it. Only calls that repeat exactly (the same call, the
        same answer) count: a test run that fails differently after an edit is progress."""
        key = hashlib.sha256(
            json.dumps([tool, _normal(arguments), _steady(observation)]).encode()
        ).hexdigest()
        self.counts[key] += 1
        seen = self.counts[key]
        if seen >= ASK_AT:
            return "ask"
        if failed(observation):
            return "nudge" if seen >= NUDGE_AT else "ok"
        return "remind" if seen >= REMIND_AT else "ok"


def _normal(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments or "{}"), sort_keys=True)
    except ValueError:
        return arguments.strip()


def _steady(observation: str) -> str:
    """The observation without what changes between identical runs (timings)."""
    return re.sub(r"\d+\.\d+s\b", "", observation)
