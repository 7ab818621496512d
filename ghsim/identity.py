"""The GitHub App ghsim simulates: its key, id, webhook secret, installation and bot user."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

APP_SLUG = "issue-pilot"
APP_NAME = "Issue Pilot"
APP_ID = 1
INSTALLATION_ID = 1

APP_PERMISSIONS = {
    "actions": "read",
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
    "statuses": "write",
}
APP_EVENTS = [
    "check_run",
    "check_suite",
    "issue_comment",
    "issues",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "push",
    "status",
    "workflow_job",
    "workflow_run",
]


@dataclass(frozen=True)
class AppIdentity:
    app_id: int
    slug: str
    name: str
    installation_id: int
    webhook_secret: str
    private_key_pem: str
    public_key_pem: str

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


def load_or_create(data_dir: Path, api_url: str) -> tuple[AppIdentity, bool]:
    """Read ``app.pem``/``app.json`` from the data dir, writing them on first start.

    Returns the identity and whether it was just created (the App was "installed").
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    pem_path, json_path = data_dir / "app.pem", data_dir / "app.json"
    created = not (pem_path.exists() and json_path.exists())
    key: PrivateKeyTypes
    if created:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        pem_path.write_text(pem)
        pem_path.chmod(0o600)
        info: dict[str, Any] = {
            "app_id": APP_ID,
            "slug": APP_SLUG,
            "bot_login": f"{APP_SLUG}[bot]",
            "webhook_secret": secrets.token_hex(20),
            "installation_id": INSTALLATION_ID,
        }
    else:
        info = json.loads(json_path.read_text())
        pem = pem_path.read_text()
        # ghsim wrote this key itself; checking it again would cost 40 ms of every start.
        key = serialization.load_pem_private_key(
            pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
    # api_url follows the current host/port, so it is rewritten on every start.
    info["api_url"] = api_url
    json_path.write_text(json.dumps(info, indent=2) + "\n")
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    identity = AppIdentity(
        app_id=int(info["app_id"]),
        slug=str(info.get("slug", APP_SLUG)),
        name=APP_NAME,
        installation_id=int(info["installation_id"]),
        webhook_secret=str(info["webhook_secret"]),
        private_key_pem=pem,
        public_key_pem=public_pem,
    )
    return identity, created
