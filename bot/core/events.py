"""A webhook delivery as handlers see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ignore:
    """A handler's decision to do nothing with an event, and why."""

    reason: str


@dataclass(frozen=True)
class Event:
    name: str
    delivery_id: str
    payload: dict[str, Any]

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def sender_login(self) -> str:
        return str((self.payload.get("sender") or {}).get("login", ""))

    @property
    def sender_is_bot(self) -> bool:
        sender = self.payload.get("sender") or {}
        return sender.get("type") == "Bot" or str(sender.get("login", "")).endswith("[bot]")

    @property
    def installation_id(self) -> int | None:
        installation = self.payload.get("installation") or {}
        value = installation.get("id")
        return value if isinstance(value, int) else None

    @property
    def repo_full_name(self) -> str | None:
        repo = self.payload.get("repository") or {}
        name = repo.get("full_name")
        return name if isinstance(name, str) else None
