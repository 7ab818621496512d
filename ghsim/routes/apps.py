"""The App: its JWT endpoints, its one installation and installation access tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ghsim.auth import AppDep, issue_installation_token
from ghsim.errors import not_found
from ghsim.serialize import Serializer
from ghsim.sim import Sim, SimDep

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


def _installation_or_404(sim: Sim, installation_id: int) -> None:
    if installation_id != sim.identity.installation_id:
        raise not_found()


@router.get("/app")
def get_app(sim: SimDep, _: AppDep) -> dict[str, Any]:
    return Serializer(sim).app()


@router.get("/app/installations")
def list_installations(sim: SimDep, _: AppDep) -> list[dict[str, Any]]:
    return [Serializer(sim).installation()]


@router.get("/app/installations/{installation_id}")
def get_installation(installation_id: int, sim: SimDep, _: AppDep) -> dict[str, Any]:
    _installation_or_404(sim, installation_id)
    return Serializer(sim).installation()


@router.get("/repos/{owner}/{repo}/installation")
def get_repo_installation(owner: str, repo: str, sim: SimDep, _: AppDep) -> dict[str, Any]:
    sim.repo_or_404(owner, repo)
    return Serializer(sim).installation()


@router.post("/app/installations/{installation_id}/access_tokens", status_code=201)
def create_access_token(installation_id: int, sim: SimDep, _: AppDep) -> dict[str, Any]:
    _installation_or_404(sim, installation_id)
    token = issue_installation_token(sim, installation_id)
    return {
        "token": token["token"],
        "expires_at": token["expires_at_github"],
        "permissions": token["permissions"],
        "repository_selection": "all",
    }
