"""What the simulator holds: config, store, the App's identity, people and repositories.

Below the serializers, the App views and the webhook dispatcher, which all read it;
``ghsim.sim.Sim`` adds the dispatcher on top.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

from ghsim.config import SimConfig
from ghsim.errors import not_found
from ghsim.identity import load_or_create
from ghsim.store import Doc, Store


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(type_name: str, doc_id: int) -> str:
    """Opaque global id; GraphQL mutations take it back (see :func:`parse_node_id`)."""
    return base64.b64encode(f"{type_name}:{doc_id}".encode()).decode()


def parse_node_id(value: str) -> tuple[str, int] | None:
    try:
        type_name, raw_id = base64.b64decode(value.encode(), validate=True).decode().split(":")
        return type_name, int(raw_id)
    except ValueError:
        return None


def noreply_email(user: Doc) -> str:
    """The address GitHub gives a user's commits and pushes: ``<id>+<login>@users.noreply...``."""
    return f"{user['id']}+{user['login']}@users.noreply.github.com"


class SimState:
    """The stored world and the lookups every part of ghsim makes in it."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.store = Store(config.data_dir / "ghsim.db")
        self._users: dict[int, Doc] = {}
        self._user_ids: dict[str, int] = {}
        self._tokens: dict[str, Doc] = {}
        self._ids: dict[tuple[Any, ...], int] = {}
        self.identity, self.first_start = load_or_create(config.data_dir, config.api_url)
        config.repos_dir.mkdir(parents=True, exist_ok=True)
        self.bot_user = self.ensure_user(self.identity.bot_login, "Bot")
        # The account the App is installed on (GitHub needs one); it owns nothing special.
        self.admin_user = self.ensure_user("ghsim")
        self._repo_locks: dict[int, asyncio.Lock] = {}

    # users -------------------------------------------------------------------------------
    # People are never changed once created, so lookups are answered from memory after the
    # first (committed) one; callers get copies.
    def ensure_user(self, login: str, type_name: str = "User") -> Doc:
        """The user with this login, created on first sight (people exist from first use)."""
        known = self.find_user(login)
        if known is not None:
            return known
        with self.store.transaction():
            user = self.store.first("user", login_lower=login.lower())
            if user is None:
                user = self.store.insert(
                    "user",
                    {
                        "login": login,
                        "login_lower": login.lower(),
                        "type": type_name,
                        "created_at": now_iso(),
                    },
                )
        return self._remember(user)

    def user(self, user_id: int) -> Doc:
        user = self._users.get(user_id)
        if user is None:
            user = self.store.get("user", user_id)
            if user is None:
                raise KeyError(f"user {user_id}")
            self._remember(user)
        return dict(user)

    def find_user(self, login: str) -> Doc | None:
        user_id = self._user_ids.get(login.lower())
        if user_id is not None:
            return dict(self._users[user_id])
        user = self.store.first("user", login_lower=login.lower())
        return None if user is None else self._remember(user)

    def _remember(self, user: Doc) -> Doc:
        if not self.store.in_transaction:
            self._users[user["id"]] = dict(user)
            self._user_ids[user["login_lower"]] = user["id"]
        return user

    def installation_token(self, token: str) -> Doc | None:
        """The stored ``ghs_`` token; like people, tokens never change once issued."""
        found = self._tokens.get(token)
        if found is None:
            found = self.store.first("installation_token", token=token)
            if found is None:
                return None
            if not self.store.in_transaction:
                self._tokens[token] = found
        return dict(found)

    def revoke_installation_token(self, token: str) -> None:
        found = self.store.first("installation_token", token=token)
        if found is not None:
            self.store.update("installation_token", found["id"], {"revoked": True})
        self._tokens.pop(token, None)

    # repositories ------------------------------------------------------------------------
    def find_repo(self, owner: str, name: str) -> Doc | None:
        return self._find("repo", full_name_lower=f"{owner}/{name}".lower())

    def repo_or_404(self, owner: str, name: str) -> Doc:
        repo = self.find_repo(owner, name)
        if repo is None:
            raise not_found()
        return repo

    def repo(self, repo_id: int) -> Doc:
        repo = self.store.get("repo", repo_id)
        if repo is None:
            raise KeyError(f"repo {repo_id}")
        return repo

    def in_repo_or_404(self, kind: str, repo: Doc, doc_id: int) -> Doc:
        """Document ``doc_id`` of ``kind`` (a comment, a check run...) if it is ``repo``'s."""
        doc = self.store.get(kind, doc_id)
        if doc is None or doc["repo_id"] != repo["id"]:
            raise not_found()
        return doc

    def repo_lock(self, repo_id: int) -> asyncio.Lock:
        """The lock every ref update of a repository (push, merge) holds; event loop only."""
        return self._repo_locks.setdefault(repo_id, asyncio.Lock())

    def git_dir(self, repo: Doc) -> str:
        """Path of the bare repository: ``<data_dir>/repos/<owner>/<name>.git``."""
        return str(self.config.repos_dir / repo["owner"] / f"{repo['name']}.git")

    # issues and pulls --------------------------------------------------------------------
    def issue_or_404(self, repo: Doc, number: int) -> Doc:
        issue = self._find("issue", repo_id=repo["id"], number=number)
        if issue is None:
            raise not_found()
        return issue

    def pull_or_404(self, repo: Doc, number: int) -> Doc:
        pull = self._find("pull", repo_id=repo["id"], number=number)
        if pull is None:
            raise not_found()
        return pull

    def find_label(self, repo_id: int, name: str) -> Doc | None:
        return self.store.first("label", repo_id=repo_id, name_lower=name.lower())

    def pull_for_issue(self, issue: Doc) -> Doc | None:
        if not issue.get("is_pr"):
            return None
        return self._find("pull", repo_id=issue["repo_id"], number=issue["number"])

    def _find(self, kind: str, **key: Any) -> Doc | None:
        """The document that ``key`` names for good (a repository's full name, an issue's
        number): its id is remembered, so later lookups read it by id (the store caches those)."""
        remembered = self._ids.get((kind, *key.items()))
        if remembered is not None:
            doc = self.store.get(kind, remembered)
            if doc is not None:
                return doc
        doc = self.store.first(kind, **key)
        if doc is not None and not self.store.in_transaction:
            self._ids[(kind, *key.items())] = doc["id"]
        return doc
