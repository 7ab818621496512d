"""ghsim's App manifest flow: the new-App page, the code conversion, the new App at work."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy
from githubkit.exception import RequestFailed
from githubkit.webhooks import verify

from ghsim import app_registry
from ghsim.config import SimConfig
from ghsim.sim import Sim
from tests.ghsim_support import Ghsim, Receiver, unique


def _manifest(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "url": "https://example.com/pilot",
        "hook_attributes": {"url": "https://example.com/hook"},
        "redirect_url": "http://127.0.0.1:1/back?keep=1",
        "public": False,
        "default_permissions": {"issues": "write", "checks": "read"},
        "default_events": ["issues", "check_run"],
        **extra,
    }


def _register(ghsim: Ghsim, manifest: dict[str, Any], path: str = "/settings/apps/new") -> str:
    """Post the form as a browser would; returns the code from the redirect."""
    resp = httpx.post(
        f"{ghsim.base_url}{path}",
        data={"manifest": json.dumps(manifest), "state": "s-1"},
        follow_redirects=False,
    )
    assert resp.status_code == 302, resp.text
    location = urlsplit(resp.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "127.0.0.1:1", "/back")
    query = parse_qs(location.query)
    assert query["state"] == ["s-1"] and query["keep"] == ["1"]
    return query["code"][0]


def _convert(ghsim: Ghsim, code: str) -> httpx.Response:
    return httpx.post(f"{ghsim.api_url}app-manifests/{code}/conversions")


def test_manifest_registers_an_app_whose_code_converts_once(ghsim: Ghsim) -> None:
    name = unique("Pilot")
    code = _register(ghsim, _manifest(name))
    resp = _convert(ghsim, code)
    assert resp.status_code == 201
    app = resp.json()
    assert app["name"] == name and app["slug"] == name.lower()
    assert app["id"] != ghsim.app_info["app_id"]
    assert app["permissions"] == {"metadata": "read", "issues": "write", "checks": "read"}
    assert app["events"] == ["issues", "check_run"]
    assert app["owner"]["login"] == "ghsim"
    assert app["html_url"].endswith(f"/apps/{app['slug']}")
    assert app["pem"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert app["webhook_secret"] and app["client_secret"] and app["client_id"]
    # Single use, as on GitHub.
    assert _convert(ghsim, code).status_code == 404


def test_the_new_app_authenticates_with_its_own_key(ghsim: Ghsim) -> None:
    app = _convert(ghsim, _register(ghsim, _manifest(unique("Keyed")))).json()
    as_app = ghsim.client(AppAuthStrategy(str(app["id"]), app["pem"]))
    me = as_app.rest.apps.get_authenticated().parsed_data
    assert (me.id, me.slug) == (app["id"], app["slug"])
    (installation,) = as_app.rest.apps.list_installations().parsed_data
    assert installation.app_id == app["id"] and installation.repository_selection == "all"
    assert installation.id != ghsim.app_info["installation_id"]
    # Its key is not the built-in App's: signing as the built-in App with it fails.
    impostor = ghsim.client(AppAuthStrategy(str(ghsim.app_info["app_id"]), app["pem"]))
    with pytest.raises(RequestFailed) as refused:
        impostor.rest.apps.get_authenticated()
    assert refused.value.response.status_code == 401
    # Nor may it mint tokens for the built-in App's installation.
    with pytest.raises(RequestFailed) as other:
        as_app.rest.apps.create_installation_access_token(ghsim.app_info["installation_id"])
    assert other.value.response.status_code == 404


def test_the_new_app_acts_on_repositories_as_its_own_bot(ghsim: Ghsim) -> None:
    owner = unique("own")
    repo = ghsim.person(owner).rest.repos.create_for_authenticated_user(name="r").parsed_data
    app = _convert(ghsim, _register(ghsim, _manifest(unique("Actor")))).json()
    as_app = ghsim.client(AppAuthStrategy(str(app["id"]), app["pem"]))
    installation = as_app.rest.apps.get_repo_installation(owner, "r").parsed_data
    token = as_app.rest.apps.create_installation_access_token(installation.id).parsed_data
    assert token.permissions.model_dump(exclude_unset=True) == app["permissions"]
    bot = ghsim.client(AppInstallationAuthStrategy(str(app["id"]), app["pem"], installation.id))
    issue = bot.rest.issues.create(owner, repo.name, title="hello").parsed_data
    assert issue.user is not None and issue.user.login == f"{app['slug']}[bot]"
    # Permissions beyond the manifest's are refused.
    with pytest.raises(RequestFailed) as refused:
        as_app.rest.apps.create_installation_access_token(
            installation.id, permissions={"contents": "write"}
        )
    assert refused.value.response.status_code == 422


def test_organization_apps_belong_to_the_organization(ghsim: Ghsim) -> None:
    org = unique("org")
    code = _register(ghsim, _manifest(unique("OrgApp")), f"/organizations/{org}/settings/apps/new")
    app = _convert(ghsim, code).json()
    assert app["owner"]["login"] == org and app["owner"]["type"] == "Organization"


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ("not json", "not valid JSON"),
        (json.dumps({"url": "https://x"}), "Name can&#39;t be blank"),
        (json.dumps({"name": "ok-name-x"}), "Homepage URL can&#39;t be blank"),
        (json.dumps({**_manifest("no-redirect-x"), "redirect_url": None}), "no redirect_url"),
        (json.dumps(_manifest("issue-pilot")), "already in use"),
        (
            json.dumps({**_manifest("bad-level-x"), "default_permissions": {"issues": "all"}}),
            "read, write or admin",
        ),
    ],
)
def test_a_bad_manifest_is_refused_with_the_reason(
    ghsim: Ghsim, manifest: str, reason: str
) -> None:
    resp = httpx.post(
        f"{ghsim.base_url}/settings/apps/new", data={"manifest": manifest}, follow_redirects=False
    )
    assert resp.status_code == 422
    assert reason in resp.text


def test_unknown_codes_are_not_found(ghsim: Ghsim) -> None:
    resp = _convert(ghsim, "0" * 40)
    assert resp.status_code == 404 and resp.json()["message"] == "Not Found"


def test_codes_expire_after_an_hour(tmp_path: Path) -> None:
    sim = Sim(SimConfig(data_dir=tmp_path / "sim"))
    try:
        app = app_registry.register(sim, _manifest("expiring"), sim.admin_user)
        stale = app_registry.issue_code(sim, app)
        found = sim.store.first(app_registry.CODE_KIND, code=stale)
        assert found is not None
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        sim.store.update(app_registry.CODE_KIND, found["id"], {"expires_at": past})
        assert app_registry.redeem_code(sim, stale) is None
        fresh = app_registry.issue_code(sim, app)
        redeemed = app_registry.redeem_code(sim, fresh)
        assert redeemed is not None and redeemed["id"] == app["id"]
    finally:
        sim.store.close()


def test_the_new_app_gets_its_events_at_its_hook_signed_with_its_secret(ghsim: Ghsim) -> None:
    hook = Receiver().start()
    try:
        manifest = _manifest(unique("Hooked"), hook_attributes={"url": hook.url})
        app = _convert(ghsim, _register(ghsim, manifest)).json()
        owner = unique("hooked")
        person = ghsim.person(owner)
        person.rest.repos.create_for_authenticated_user(name="r")
        issue = person.rest.issues.create(owner, "r", title="for both").parsed_data
        mine = hook.wait_for("issues", "opened", lambda p: p["issue"]["id"] == issue.id)
        assert verify(app["webhook_secret"], mine.body, mine.headers["X-Hub-Signature-256"])
        assert not verify(
            ghsim.app_info["webhook_secret"], mine.body, mine.headers["X-Hub-Signature-256"]
        )
        assert mine.payload["installation"]["id"] != ghsim.app_info["installation_id"]
        assert mine.headers["X-GitHub-Hook-Installation-Target-ID"] == str(app["id"])
        # The built-in App still gets its own copy, and events outside the manifest's go nowhere.
        ghsim.receiver.wait_for("issues", "opened", lambda p: p["issue"]["id"] == issue.id)
        person.rest.issues.create_comment(owner, "r", issue.number, body="not subscribed")
        ghsim.receiver.wait_for("issue_comment", "created", lambda p: p["issue"]["id"] == issue.id)
        assert not hook.find("issue_comment")
        # Each App lists only its own deliveries.
        as_app = ghsim.client(AppAuthStrategy(str(app["id"]), app["pem"]))
        listed = as_app.rest.apps.list_webhook_deliveries().parsed_data
        assert [d.event for d in listed] == ["issues"]
        assert listed[0].installation_id == mine.payload["installation"]["id"]
    finally:
        hook.stop()


def test_a_manifest_refused_for_its_redirect_registers_nothing(ghsim: Ghsim) -> None:
    name = unique("Pilot")
    for redirect in (None, "javascript:alert(1)"):
        bad = {k: v for k, v in _manifest(name).items() if k != "redirect_url"}
        if redirect is not None:
            bad["redirect_url"] = redirect
        resp = httpx.post(
            f"{ghsim.base_url}/settings/apps/new",
            data={"manifest": json.dumps(bad)},
            follow_redirects=False,
        )
        assert resp.status_code == 422 and "redirect_url" in resp.text
    # The name is still free: the person fixes the manifest and tries again.
    code = _register(ghsim, _manifest(name))
    assert _convert(ghsim, code).json()["name"] == name
