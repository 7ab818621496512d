"""Maps (event, action) to handlers; each handler module owns one Router."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.events import Event

Handler = Callable[[Event, Any], Awaitable[None]]


@dataclass(frozen=True)
class Subscriptions:
    """The (event, action) pairs some handler takes: all the web app needs of the router, so
    building it loads no handler."""

    keys: frozenset[tuple[str, str | None]]

    def subscribes(self, event: str, action: str | None) -> bool:
        return (event, None) in self.keys or (action is not None and (event, action) in self.keys)

    def events(self) -> set[str]:
        return {event for event, _ in self.keys}


@dataclass
class Router:
    _routes: dict[tuple[str, str | None], list[Handler]] = field(default_factory=dict)

    def register(self, event: str, action: str | None = None) -> Callable[[Handler], Handler]:
        """Subscribe a handler to an event; without `action` it gets every action."""

        def decorate(handler: Handler) -> Handler:
            self._routes.setdefault((event, action), []).append(handler)
            return handler

        return decorate

    def handlers_for(self, event: str, action: str | None) -> list[Handler]:
        found = list(self._routes.get((event, None), []))
        if action is not None:
            found += self._routes.get((event, action), [])
        return found

    def subscribes(self, event: str, action: str | None) -> bool:
        return bool(self.handlers_for(event, action))

    def events(self) -> set[str]:
        """Every event some handler is registered for (what the App must subscribe to)."""
        return {event for event, _ in self._routes}

    def subscriptions(self) -> Subscriptions:
        return Subscriptions(frozenset(self._routes))

    @classmethod
    def compose(cls, *routers: Router) -> Router:
        combined = cls()
        for router in routers:
            for key, handlers in router._routes.items():
                combined._routes.setdefault(key, []).extend(handlers)
        return combined
