"""GitHub faked at the HTTP transport: an httpx MockTransport answering the REST calls the bot
makes, with bodies built from recorded payloads so githubkit's models parse them."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
BOT_LOGIN = "issue-pilot[bot]"


def load_payload(event: str, action: str | None = None) -> dict[str, Any]:
    name = f"{action}.payload.json" if action else "payload.json"
    data: dict[str, Any] = json.loads((FIXTURES / event / name).read_bytes())
    return data


_COMMENT = load_payload("issue_comment", "created")["comment"]
_USER = load_payload("issue_comment", "created")["sender"]
_INSTALLATION = load_payload("installation", "created")["installation"]
_APP = load_payload("check_run", "created")["check_run"]["app"]


def user_json(login: str, bot: bool = False) -> dict[str, Any]:
    user = copy.deepcopy(_USER)
    user.update(login=login, type="Bot" if bot else "User")
    return user


@dataclass
class FakeGitHub:
    """Collaborator roles, comments and reactions of any repository, kept in memory."""

    roles: dict[str, str] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    reactions: list[tuple[str, int, str]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    fail_next: dict[str, int] = field(default_factory=dict)
    installation_id: int = 4242
    _next_id: int = 1000

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def comment_bodies(self, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get(number, [])]

    def calls(self, method: str, pattern: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.url.path)]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/api/v3")
        for method, pattern, answer in self._routes():
            match = re.fullmatch(pattern, path)
            if match and request.method == method:
                key = f"{method} {pattern}"
                if self.fail_next.get(key, 0) > 0:
                    self.fail_next[key] -= 1
                    return httpx.Response(502, json={"message": "Bad Gateway"})
                return answer(request, *match.groups())
        return httpx.Response(404, json={"message": "Not Found"})

    def fail(self, method: str, pattern: str, times: int = 1) -> None:
        self.fail_next[f"{method} {pattern}"] = times

    def _routes(
        self,
    ) -> list[tuple[str, str, Callable[..., httpx.Response]]]:
        repo = r"/repos/[^/]+/[^/]+"
        return [
            ("POST", r"/app/installations/(\d+)/access_tokens", self._token),
            ("GET", r"/app", self._app),
            ("GET", rf"{repo}/installation", self._installation),
            ("GET", rf"{repo}/collaborators/([^/]+)/permission", self._permission),
            ("GET", rf"{repo}/issues/(\d+)/comments", self._list_comments),
            ("POST", rf"{repo}/issues/(\d+)/comments", self._create_comment),
            ("PATCH", rf"{repo}/issues/comments/(\d+)", self._update_comment),
            ("POST", rf"{repo}/issues/(\d+)/reactions", self._issue_reaction),
            ("POST", rf"{repo}/issues/comments/(\d+)/reactions", self._comment_reaction),
        ]

    def _token(self, request: httpx.Request, installation: str) -> httpx.Response:
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"token": f"ghs_fake{installation}", "expires_at": expires, "permissions": {}}
        return httpx.Response(201, json=body)

    def _app(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**_APP, "slug": BOT_LOGIN.removesuffix("[bot]")})

    def _installation(self, request: httpx.Request) -> httpx.Response:
        # The REST answer has fields that the webhook copy of an installation lacks.
        body = {**_INSTALLATION, "id": self.installation_id, "app_slug": "issue-pilot"}
        return httpx.Response(200, json=body)

    def _permission(self, request: httpx.Request, login: str) -> httpx.Response:
        role = self.roles.get(login)
        if role is None:
            return httpx.Response(404, json={"message": f"{login} is not a user"})
        permission = {"maintain": "write", "triage": "read"}.get(role, role)
        user = {**user_json(login), "role_name": role}
        body = {"permission": permission, "role_name": role, "user": user}
        return httpx.Response(200, json=body)

    def _list_comments(self, request: httpx.Request, number: str) -> httpx.Response:
        return httpx.Response(200, json=self.comments.get(int(number), []))

    def _create_comment(self, request: httpx.Request, number: str) -> httpx.Response:
        self._next_id += 1
        comment = copy.deepcopy(_COMMENT)
        comment.update(
            id=self._next_id,
            body=json.loads(request.content)["body"],
            user=user_json(BOT_LOGIN, True),
        )
        self.comments.setdefault(int(number), []).append(comment)
        return httpx.Response(201, json=comment)

    def _update_comment(self, request: httpx.Request, comment_id: str) -> httpx.Response:
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == int(comment_id):
                    comment["body"] = json.loads(request.content)["body"]
                    return httpx.Response(200, json=comment)
        return httpx.Response(404, json={"message": "Not Found"})

    def _reaction(self, kind: str, target: int, request: httpx.Request) -> httpx.Response:
        content = json.loads(request.content)["content"]
        self.reactions.append((kind, target, content))
        self._next_id += 1
        body = {
            "id": self._next_id,
            "node_id": "MDg6UmVhY3Rpb24x",
            "user": user_json(BOT_LOGIN, True),
            "content": content,
            "created_at": "2019-05-15T15:20:40Z",
        }
        return httpx.Response(201, json=body)

    def _issue_reaction(self, request: httpx.Request, number: str) -> httpx.Response:
        return self._reaction("issue", int(number), request)

    def _comment_reaction(self, request: httpx.Request, comment_id: str) -> httpx.Response:
        return self._reaction("comment", int(comment_id), request)
