"""The running simulator: config, store, App identity and webhook dispatcher, shared by routes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from ghsim.config import SimConfig
from ghsim.errors import GitHubError, not_found
from ghsim.identity import load_or_create
from ghsim.store import Doc, Store
from ghsim.webhooks import Webhooks


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


class Sim:
    """Everything a route needs; one per app, reachable as ``request.app.state.sim``."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.store = Store(config.data_dir / "ghsim.db")
        self.identity, self.first_start = load_or_create(config.data_dir, config.api_url)
        config.repos_dir.mkdir(parents=True, exist_ok=True)
        self.bot_user = self.ensure_user(self.identity.bot_login, "Bot")
        # The account the App is installed on (GitHub needs one); it owns nothing special.
        self.admin_user = self.ensure_user("ghsim")
        self.webhooks = Webhooks(self)

    # users -------------------------------------------------------------------------------
    def ensure_user(self, login: str, type_name: str = "User") -> Doc:
        """The user with this login, created on first sight (people exist from first use)."""
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
            return user

    def user(self, user_id: int) -> Doc:
        user = self.store.get("user", user_id)
        if user is None:
            raise KeyError(f"user {user_id}")
        return user

    def find_user(self, login: str) -> Doc | None:
        return self.store.first("user", login_lower=login.lower())

    # repositories ------------------------------------------------------------------------
    def find_repo(self, owner: str, name: str) -> Doc | None:
        return self.store.first("repo", full_name_lower=f"{owner}/{name}".lower())

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

    def git_dir(self, repo: Doc) -> str:
        """Path of the bare repository: ``<data_dir>/repos/<owner>/<name>.git``."""
        return str(self.config.repos_dir / repo["owner"] / f"{repo['name']}.git")

    # issues and pulls --------------------------------------------------------------------
    def issue_or_404(self, repo: Doc, number: int) -> Doc:
        issue = self.store.first("issue", repo_id=repo["id"], number=number)
        if issue is None:
            raise not_found()
        return issue

    def pull_or_404(self, repo: Doc, number: int) -> Doc:
        pull = self.store.first("pull", repo_id=repo["id"], number=number)
        if pull is None:
            raise not_found()
        return pull

    def pull_for_issue(self, issue: Doc) -> Doc | None:
        if not issue.get("is_pr"):
            return None
        return self.store.first("pull", repo_id=issue["repo_id"], number=issue["number"])


def get_sim(request: Request) -> Sim:
    """FastAPI dependency: the simulator behind this app."""
    sim = request.app.state.sim
    if not isinstance(sim, Sim):
        raise GitHubError(500, "ghsim not initialised")
    return sim


SimDep = Annotated[Sim, Depends(get_sim)]
