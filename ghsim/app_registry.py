"""Apps registered through the manifest flow, beside the one ghsim starts with.

Each gets its own id, slug, RS256 key, webhook secret, client credentials and an installation
on every repository (like the built-in App); its bot user is ``<slug>[bot]``. The code GitHub
hands back on the redirect is single-use and expires after an hour.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ghsim.app_views import KIND, AppView
from ghsim.serialize import Serializer
from ghsim.sim import Sim
from ghsim.state import now_iso
from ghsim.store import Doc

CODE_KIND = "manifest_code"
CODE_LIFETIME = timedelta(hours=1)
LEVELS = ("read", "write", "admin")
MAX_NAME = 34  # GitHub's limit on an App's name


class ManifestError(ValueError):
    """The manifest cannot register an App; the message says why, as GitHub's form would."""


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _checked(manifest: Any) -> dict[str, Any]:
    if not isinstance(manifest, dict):
        raise ManifestError("The manifest is not a JSON object.")
    name = manifest.get("name")
    if not isinstance(name, str) or not slugify(name):
        raise ManifestError("Name can't be blank.")
    if len(name) > MAX_NAME:
        raise ManifestError(f"Name is too long (maximum is {MAX_NAME} characters).")
    if not isinstance(manifest.get("url"), str) or not manifest["url"]:
        raise ManifestError("Homepage URL can't be blank.")
    redirect = manifest.get("redirect_url")
    if not isinstance(redirect, str) or not redirect.startswith(("http://", "https://")):
        # Checked before anything is stored: a refused manifest must leave its name free.
        raise ManifestError("The manifest has no redirect_url to send the code to.")
    hook = manifest.get("hook_attributes") or {}
    if not isinstance(hook, dict) or not isinstance(hook.get("url", ""), str):
        raise ManifestError("hook_attributes must be an object with a url.")
    permissions = manifest.get("default_permissions") or {}
    if not isinstance(permissions, dict) or any(
        not isinstance(level, str) or level not in LEVELS for level in permissions.values()
    ):
        raise ManifestError("default_permissions must map permissions to read, write or admin.")
    events = manifest.get("default_events") or []
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ManifestError("default_events must be a list of event names.")
    return manifest


def register(sim: Sim, manifest: Any, owner: Doc) -> Doc:
    """A new App from a manifest, owned by ``owner``, installed on every repository."""
    checked = _checked(manifest)
    name, slug = str(checked["name"]), slugify(str(checked["name"]))
    if slug == sim.identity.slug or sim.store.first(KIND, slug=slug) is not None:
        raise ManifestError("Name is already in use.")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # GitHub hands out PKCS#1 keys
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hook = checked.get("hook_attributes") or {}
    permissions = {"metadata": "read", **(checked.get("default_permissions") or {})}
    with sim.store.transaction():
        doc = sim.store.insert(
            KIND,
            {
                "slug": slug,
                "name": name,
                "owner_id": owner["id"],
                "description": checked.get("description"),
                "url": checked["url"],
                "hook_url": hook.get("url") or None,
                "hook_active": bool(hook.get("active", True)),
                "redirect_url": checked.get("redirect_url"),
                "public": bool(checked.get("public", False)),
                "permissions": permissions,
                "events": list(checked.get("default_events") or []),
                "webhook_secret": secrets.token_hex(20),
                "client_secret": secrets.token_hex(20),
                "private_key_pem": pem,
                "public_key_pem": public.decode(),
                "created_at": now_iso(),
            },
        )
        # Ids after the built-in App's, so no two Apps or installations share one.
        doc = sim.store.update(
            KIND,
            doc["id"],
            {
                "app_id": sim.identity.app_id + doc["id"],
                "installation_id": sim.identity.installation_id + doc["id"],
                "client_id": f"Iv23{secrets.token_hex(8)}",
            },
        )
    sim.ensure_user(f"{slug}[bot]", "Bot")
    sim.webhooks.apps_changed()
    return doc


def issue_code(sim: Sim, app: Doc) -> str:
    code = secrets.token_hex(20)
    expires = datetime.now(UTC) + CODE_LIFETIME
    sim.store.insert(
        CODE_KIND, {"code": code, "app_doc_id": app["id"], "expires_at": expires.isoformat()}
    )
    return code


def redeem_code(sim: Sim, code: str) -> Doc | None:
    """The App a code names, once: the code is spent on success and worthless when expired."""
    with sim.store.transaction():
        found = sim.store.first(CODE_KIND, code=code)
        if found is None:
            return None
        sim.store.delete(CODE_KIND, found["id"])
        if found["expires_at"] <= datetime.now(UTC).isoformat():
            return None
        return sim.store.get(KIND, found["app_doc_id"])


def app_json(sim: Sim, doc: Doc) -> dict[str, Any]:
    """GitHub's ``integration`` shape of a registered App."""
    ser = Serializer(sim)
    return {
        "id": doc["app_id"],
        "slug": doc["slug"],
        "node_id": ser.node("Integration", doc["app_id"]),
        "client_id": doc["client_id"],
        "owner": ser.user(sim.user(doc["owner_id"])),
        "name": doc["name"],
        "description": doc.get("description"),
        "external_url": doc["url"],
        "html_url": f"{ser.web}/apps/{doc['slug']}",
        "created_at": doc["created_at"],
        "updated_at": doc["created_at"],
        "permissions": doc["permissions"],
        "events": doc["events"],
        "installations_count": 1,
    }


def conversion_json(sim: Sim, doc: Doc) -> dict[str, Any]:
    """What ``POST /app-manifests/{code}/conversions`` answers: the App and its secrets."""
    return {
        **app_json(sim, doc),
        "client_secret": doc["client_secret"],
        "webhook_secret": doc["webhook_secret"],
        "pem": doc["private_key_pem"],
    }


def find_doc(sim: Sim, app_id: int) -> Doc | None:
    return sim.store.first(KIND, app_id=app_id)


def installation_json(sim: Sim, app: AppView, rest: bool = True) -> dict[str, Any]:
    """The App's one installation (every repository of the account), as GitHub shapes it."""
    ser = Serializer(sim)
    out = ser.installation(rest)
    if app.builtin:
        return out
    inst = app.installation_id
    out.update(
        id=inst,
        app_id=app.app_id,
        access_tokens_url=f"{ser.api}/app/installations/{inst}/access_tokens",
        html_url=f"{ser.web}/settings/installations/{inst}",
        permissions=app.permissions,
        events=app.events,
    )
    if rest:
        out["app_slug"] = app.slug
    return out
