"""GitHub's App manifest flow: the new-App page takes a manifest, the API converts the code.

On GitHub a person confirms the form first; ghsim registers the App at once and redirects,
as if that person had clicked "Create GitHub App".
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ghsim import app_registry
from ghsim.app_registry import ManifestError
from ghsim.errors import not_found
from ghsim.routes.web import _page
from ghsim.sim import Sim, SimDep
from ghsim.store import Doc

router = APIRouter()
web_router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 64 * 1024


@router.post("/app-manifests/{code}/conversions", status_code=201)
def convert(code: str, sim: SimDep) -> dict[str, Any]:
    """The App, its key and its secrets, once per code; no credentials needed (as on GitHub)."""
    app = app_registry.redeem_code(sim, code)
    if app is None:
        raise not_found()
    return app_registry.conversion_json(sim, app)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _refuse(message: str) -> HTMLResponse:
    page = _page("app_manifest_error.html", message=message)
    page.status_code = 422
    return page


async def _form(request: Request) -> dict[str, str]:
    """The query string, then an urlencoded body on top: GitHub's page takes either."""
    fields = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return {}
        fields.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return fields


def _register(sim: Sim, fields: dict[str, str], owner: Doc) -> Response:
    raw = fields.get("manifest")
    if not raw:
        return _refuse("No manifest was given.")
    try:
        manifest = json.loads(raw)
        app = app_registry.register(sim, manifest, owner)
    except json.JSONDecodeError:
        return _refuse("The manifest is not valid JSON.")
    except ManifestError as exc:
        return _refuse(str(exc))
    redirect = str(app["redirect_url"])  # checked by `register`
    code = app_registry.issue_code(sim, app)
    params = {"code": code}
    if fields.get("state"):
        params["state"] = fields["state"]
    return RedirectResponse(_with_query(redirect, **params), status_code=302)


@web_router.api_route("/settings/apps/new", methods=["GET", "POST"])
async def new_user_app(request: Request, sim: SimDep) -> Response:
    """An App owned by ghsim's account (nobody signs in to ghsim's pages)."""
    return _register(sim, await _form(request), sim.admin_user)


@web_router.api_route("/organizations/{org}/settings/apps/new", methods=["GET", "POST"])
async def new_org_app(org: str, request: Request, sim: SimDep) -> Response:
    fields = await _form(request)
    return _register(sim, fields, sim.ensure_user(org, "Organization"))
