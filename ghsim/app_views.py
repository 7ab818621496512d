"""Any App as auth, the webhook dispatcher and the /app routes see it, read from the state.

The built-in App comes from the identity; those registered from a manifest (see
``app_registry``) from the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from ghsim.identity import APP_EVENTS, APP_PERMISSIONS
from ghsim.state import SimState
from ghsim.store import Doc

KIND = "registered_app"


@dataclass(frozen=True)
class AppView:
    """What auth, deliveries and the /app routes need of any App, built-in or registered."""

    app_id: int
    slug: str
    installation_id: int
    permissions: dict[str, str]
    events: list[str]
    public_key_pem: str
    webhook_secret: str
    hook_url: str | None
    builtin: bool

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


def builtin(sim: SimState) -> AppView:
    ident = sim.identity
    return AppView(
        ident.app_id,
        ident.slug,
        ident.installation_id,
        dict(APP_PERMISSIONS),
        list(APP_EVENTS),
        ident.public_key_pem,
        ident.webhook_secret,
        sim.config.webhook_url,
        True,
    )


def _view(doc: Doc) -> AppView:
    return AppView(
        int(doc["app_id"]),
        str(doc["slug"]),
        int(doc["installation_id"]),
        dict(doc["permissions"]),
        list(doc["events"]),
        str(doc["public_key_pem"]),
        str(doc["webhook_secret"]),
        doc.get("hook_url") if doc.get("hook_active", True) else None,
        False,
    )


def by_app_id(sim: SimState, app_id: int) -> AppView | None:
    if app_id == sim.identity.app_id:
        return builtin(sim)
    doc = sim.store.first(KIND, app_id=app_id)
    return None if doc is None else _view(doc)


def registered(sim: SimState) -> list[AppView]:
    return [_view(doc) for doc in sim.store.query(KIND)]
