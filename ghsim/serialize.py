"""GitHub-shaped JSON for stored documents: users, repositories, labels, issues, comments.

Webhook payloads use the shapes exactly as recorded from github.com (the key sets are
tested against ``tests/fixtures/webhooks``); REST answers add the fields GitHub's REST
schema requires on top (``rest=True``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ghsim.identity import APP_EVENTS, APP_PERMISSIONS
from ghsim.roles import permission_flags
from ghsim.state import SimState, node_id
from ghsim.store import Doc

REACTIONS = ["+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"]
EPOCH = "2024-01-01T00:00:00Z"


class Serializer:
    def __init__(self, sim: SimState) -> None:
        self.sim = sim
        self.api = sim.config.api_url
        self.web = sim.config.base_url
        self._reactions: dict[tuple[str, int], list[Doc]] = {}

    def node(self, type_name: str, doc_id: int) -> str:
        return node_id(type_name, doc_id)

    # people -------------------------------------------------------------------------------
    def user(self, user: Doc) -> dict[str, Any]:
        login = user["login"]
        url = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": user["id"],
            "node_id": self.node("User", user["id"]),
            "avatar_url": f"{self.web}/avatars/{login}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.web}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": user["type"],
            "site_admin": False,
        }

    def user_by_id(self, user_id: int | None) -> dict[str, Any] | None:
        return None if user_id is None else self.user(self.sim.user(user_id))

    def public_user(self, user: Doc) -> dict[str, Any]:
        repos = self.sim.store.count("repo", owner_id=user["id"])
        return {
            **self.user(user),
            "name": user.get("name"),
            "company": None,
            "blog": "",
            "location": None,
            "email": user.get("email"),
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": repos,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": user["created_at"],
            "updated_at": user["created_at"],
        }

    def private_user(self, user: Doc) -> dict[str, Any]:
        return {
            **self.public_user(user),
            "private_gists": 0,
            "total_private_repos": 0,
            "owned_private_repos": 0,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": False,
        }

    def author_association(self, repo: Doc, user_id: int) -> str:
        if user_id == repo["owner_id"]:
            return "OWNER"
        if self.sim.store.first("collaborator", repo_id=repo["id"], user_id=user_id):
            return "COLLABORATOR"
        return "NONE"

    # repositories -------------------------------------------------------------------------
    def repository(self, repo: Doc, rest: bool = False, role: str = "admin") -> dict[str, Any]:
        """``role`` (the caller's, see ``roles.ROLES``) fills the REST ``permissions``."""
        full = repo["full_name"]
        url = f"{self.api}/repos/{full}"
        html = f"{self.web}/{full}"
        open_issues = self.sim.store.count("issue", repo_id=repo["id"], state="open")
        out: dict[str, Any] = {
            "id": repo["id"],
            "node_id": self.node("Repository", repo["id"]),
            "name": repo["name"],
            "full_name": full,
            "private": repo["private"],
            "owner": self.user(self.sim.user(repo["owner_id"])),
            "html_url": html,
            "description": repo.get("description"),
            "fork": False,
            "url": url,
            **{f"{k}_url": f"{url}/{v}" for k, v in _REPO_LINKS.items()},
            "created_at": repo["created_at"],
            "updated_at": repo["updated_at"],
            "pushed_at": repo.get("pushed_at") or repo["created_at"],
            "git_url": f"{html}.git",
            "ssh_url": f"{html}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": repo.get("homepage"),
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo["default_branch"],
            "is_template": False,
            "topics": [],
            "visibility": "private" if repo["private"] else "public",
            "web_commit_signoff_required": False,
            "custom_properties": {},
        }
        if rest:
            out.update(
                has_discussions=False,
                allow_forking=True,
                subscribers_count=0,
                network_count=0,
                temp_clone_token=None,
                allow_merge_commit=True,
                allow_squash_merge=True,
                allow_rebase_merge=True,
                delete_branch_on_merge=False,
                # A repository lists them strongest first.
                permissions=dict(reversed(permission_flags(role).items())),
            )
        return out

    # the App ------------------------------------------------------------------------------
    def installation_lite(self) -> dict[str, Any]:
        inst_id = self.sim.identity.installation_id
        return {"id": inst_id, "node_id": self.node("Installation", inst_id)}

    def installation(self, rest: bool = True) -> dict[str, Any]:
        ident = self.sim.identity
        owner = self.installation_account()
        out: dict[str, Any] = {
            "id": ident.installation_id,
            "account": self.user(owner),
            "repository_selection": "all",
            "access_tokens_url": f"{self.api}/app/installations/{ident.installation_id}"
            "/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.web}/settings/installations/{ident.installation_id}",
            "app_id": ident.app_id,
            "target_id": owner["id"],
            "target_type": owner["type"],
            "permissions": APP_PERMISSIONS,
            "events": APP_EVENTS,
            "created_at": EPOCH,
            "updated_at": EPOCH,
            "single_file_name": None,
            "suspended_at": None,
            "suspended_by": None,
        }
        if rest:
            out.update(app_slug=ident.slug, has_multiple_single_files=False, single_file_paths=[])
        return out

    def installation_account(self) -> Doc:
        """GitHub installs an App on one account; ghsim's is its admin user, on every repo."""
        return self.sim.admin_user

    def app(self) -> dict[str, Any]:
        ident = self.sim.identity
        return {
            "id": ident.app_id,
            "slug": ident.slug,
            "node_id": self.node("Integration", ident.app_id),
            "client_id": f"Iv1.{ident.app_id:016x}",
            "owner": self.user(self.sim.bot_user),
            "name": ident.name,
            "description": "Turns labeled issues into reviewed pull requests.",
            "external_url": self.web,
            "html_url": f"{self.web}/apps/{ident.slug}",
            "created_at": EPOCH,
            "updated_at": EPOCH,
            "permissions": APP_PERMISSIONS,
            "events": APP_EVENTS,
            "installations_count": 1,
        }

    # labels, reactions --------------------------------------------------------------------
    def label(self, label: Doc, rest: bool = False) -> dict[str, Any]:
        repo = self.sim.repo(label["repo_id"])
        out: dict[str, Any] = {
            "id": label["id"],
            "node_id": self.node("Label", label["id"]),
            "url": f"{self.api}/repos/{repo['full_name']}/labels/{label['name']}",
            "name": label["name"],
            "color": label["color"],
            "default": label["default"],
            "description": label.get("description"),
        }
        if rest:
            out.update(archived_at=None, archived_by=None)
        return out

    def prefetch_reactions(self, subject: str, subject_ids: list[int]) -> None:
        """Read the reactions of many subjects in one query, for a list about to be shaped;
        :meth:`reaction_rollup` uses each subject's once."""
        found: dict[int, list[Doc]] = {subject_id: [] for subject_id in subject_ids}
        for reaction in self.sim.store.query("reaction", subject=subject, subject_id=subject_ids):
            found[reaction["subject_id"]].append(reaction)
        self._reactions.update({(subject, key): value for key, value in found.items()})

    def reaction_rollup(self, subject: str, subject_id: int, url: str) -> dict[str, Any]:
        found = self._reactions.pop((subject, subject_id), None)
        if found is None:
            found = self.sim.store.query("reaction", subject=subject, subject_id=subject_id)
        counts = Counter(r["content"] for r in found)
        return {
            "url": f"{url}/reactions",
            "total_count": len(found),
            **{content: counts[content] for content in REACTIONS},
        }

    def reaction(self, reaction: Doc) -> dict[str, Any]:
        return {
            "id": reaction["id"],
            "node_id": self.node("Reaction", reaction["id"]),
            "user": self.user_by_id(reaction["user_id"]),
            "content": reaction["content"],
            "created_at": reaction["created_at"],
        }


_REPO_LINKS = {
    "forks": "forks",
    "keys": "keys{/key_id}",
    "collaborators": "collaborators{/collaborator}",
    "teams": "teams",
    "hooks": "hooks",
    "issue_events": "issues/events{/number}",
    "events": "events",
    "assignees": "assignees{/user}",
    "branches": "branches{/branch}",
    "tags": "tags",
    "blobs": "git/blobs{/sha}",
    "git_tags": "git/tags{/sha}",
    "git_refs": "git/refs{/sha}",
    "trees": "git/trees{/sha}",
    "statuses": "statuses/{sha}",
    "languages": "languages",
    "stargazers": "stargazers",
    "contributors": "contributors",
    "subscribers": "subscribers",
    "subscription": "subscription",
    "commits": "commits{/sha}",
    "git_commits": "git/commits{/sha}",
    "comments": "comments{/number}",
    "issue_comment": "issues/comments{/number}",
    "contents": "contents/{+path}",
    "compare": "compare/{base}...{head}",
    "merges": "merges",
    "archive": "{archive_format}{/ref}",
    "downloads": "downloads",
    "issues": "issues{/number}",
    "pulls": "pulls{/number}",
    "milestones": "milestones{/number}",
    "notifications": "notifications{?since,all,participating}",
    "labels": "labels{/name}",
    "releases": "releases{/id}",
    "deployments": "deployments",
}
