"""The App: its JWT endpoints, its one installation and installation access tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel

from ghsim import app_registry
from ghsim.app_views import AppView, by_app_id
from ghsim.auth import (
    AppDep,
    Caller,
    CallerDep,
    issue_installation_token,
    parse_authorization,
)
from ghsim.errors import GitHubError, not_found
from ghsim.paging import paginate
from ghsim.serialize import Serializer
from ghsim.sim import Sim, SimDep
from ghsim.store import Doc

router = APIRouter()


def emit_installation_created_once(sim: Sim) -> None:
    """GitHub says ``installation.created`` when the App is installed: ghsim's first start."""
    if sim.store.get_meta("installation_created"):
        return
    ser = Serializer(sim)
    repos = [
        {
            "id": r["id"],
            "node_id": ser.node("Repository", r["id"]),
            "name": r["name"],
            "full_name": r["full_name"],
            "private": r["private"],
        }
        for r in sim.store.query("repo")
    ]
    sim.webhooks.emit(
        "installation",
        {
            "action": "created",
            "installation": ser.installation(rest=False),
            "repositories": repos,
        },
        None,
        sim.admin_user,
    )
    sim.store.set_meta("installation_created", "1")


def _calling_app(sim: Sim, caller: Caller) -> AppView:
    """The App whose JWT this is (built-in, or registered from a manifest)."""
    app = None if caller.app_id is None else by_app_id(sim, caller.app_id)
    if app is None:
        raise GitHubError(401, "A JSON web token could not be decoded")
    return app


def _installation_or_404(sim: Sim, caller: Caller, installation_id: int) -> AppView:
    """Each App has one installation; another App's id is not found, as on GitHub."""
    app = _calling_app(sim, caller)
    if installation_id != app.installation_id:
        raise not_found()
    return app


@router.get("/app")
def get_app(sim: SimDep, caller: AppDep) -> dict[str, Any]:
    app = _calling_app(sim, caller)
    if app.builtin:
        return Serializer(sim).app()
    doc = app_registry.find_doc(sim, app.app_id)
    assert doc is not None
    return app_registry.app_json(sim, doc)


@router.get("/app/installations")
def list_installations(sim: SimDep, caller: AppDep) -> list[dict[str, Any]]:
    return [app_registry.installation_json(sim, _calling_app(sim, caller))]


@router.get("/app/installations/{installation_id}")
def get_installation(installation_id: int, sim: SimDep, caller: AppDep) -> dict[str, Any]:
    app = _installation_or_404(sim, caller, installation_id)
    return app_registry.installation_json(sim, app)


@router.get("/repos/{owner}/{repo}/installation")
def get_repo_installation(owner: str, repo: str, sim: SimDep, caller: AppDep) -> dict[str, Any]:
    sim.repo_or_404(owner, repo)
    return app_registry.installation_json(sim, _calling_app(sim, caller))


class TokenRequest(BaseModel):
    repositories: list[str] | None = None
    repository_ids: list[int] | None = None
    permissions: dict[str, str] | None = None


_NOT_ACCESSIBLE = (
    "There is at least one repository that does not exist or is not accessible "
    "to the parent installation."
)


def _scoped_repos(sim: Sim, body: TokenRequest) -> list[Doc] | None:
    if body.repositories is None and body.repository_ids is None:
        return None
    repos: dict[int, Doc] = {}
    for name in body.repositories or []:
        found = sim.store.query("repo", name=name.rsplit("/", 1)[-1])
        if "/" in name:
            found = [r for r in found if r["full_name"].lower() == name.lower()]
        if not found:
            raise GitHubError(422, _NOT_ACCESSIBLE)
        repos.update((r["id"], r) for r in found)
    for repo_id in body.repository_ids or []:
        repo = sim.store.get("repo", repo_id)
        if repo is None:
            raise GitHubError(422, _NOT_ACCESSIBLE)
        repos[repo_id] = repo
    return list(repos.values())


def _permissions(app: AppView, requested: dict[str, str] | None) -> dict[str, str] | None:
    if requested is None:
        return None if app.builtin else dict(app.permissions)
    order = ["read", "write", "admin"]
    for name, level in requested.items():
        granted = app.permissions.get(name)
        if granted is None or level not in order or order.index(level) > order.index(granted):
            raise GitHubError(
                422, "The permissions requested are not granted to this installation."
            )
    return dict(requested)


@router.post("/app/installations/{installation_id}/access_tokens", status_code=201)
def create_access_token(
    installation_id: int,
    sim: SimDep,
    caller: AppDep,
    body: Annotated[TokenRequest | None, Body()] = None,
) -> dict[str, Any]:
    """A token for every repository with all the App's permissions, or the subset asked."""
    app = _installation_or_404(sim, caller, installation_id)
    body = body or TokenRequest()
    repos = _scoped_repos(sim, body)
    permissions = _permissions(app, body.permissions)
    token = issue_installation_token(
        sim,
        installation_id,
        None if repos is None else [r["id"] for r in repos],
        permissions,
        None if app.builtin else app.bot_login,
    )
    answer: dict[str, Any] = {
        "token": token["token"],
        "expires_at": token["expires_at_github"],
        "permissions": token["permissions"],
        "repository_selection": "all" if repos is None else "selected",
    }
    if repos is not None:
        answer["repositories"] = [Serializer(sim).repository(r, rest=True) for r in repos]
    return answer


@router.delete("/installation/token", status_code=204)
def revoke_token(request: Request, sim: SimDep, caller: CallerDep) -> Response:
    """An installation token revokes itself; later uses answer 401."""
    if caller.kind != "installation":
        raise GitHubError(401, "Bad credentials")
    token = parse_authorization(request.headers.get("authorization"))
    assert token is not None
    sim.revoke_installation_token(token)
    return Response(status_code=204)


@router.get("/installation/repositories")
def installation_repositories(
    request: Request, response: Response, sim: SimDep, caller: CallerDep
) -> dict[str, Any]:
    """The repositories an installation token reaches (GitHub: "List repositories accessible
    to the app installation"); only an installation token may ask."""
    if caller.kind != "installation":
        raise GitHubError(
            403,
            "You must authenticate with an installation access token in order to list "
            "repositories for an installation.",
        )
    repos = sorted(sim.store.query("repo"), key=lambda r: int(r["id"]))
    if caller.repository_ids is not None:
        repos = [r for r in repos if r["id"] in caller.repository_ids]
    ser = Serializer(sim)
    return {
        "total_count": len(repos),
        "repository_selection": "all" if caller.repository_ids is None else "selected",
        "repositories": [ser.repository(r, rest=True) for r in paginate(request, response, repos)],
    }
