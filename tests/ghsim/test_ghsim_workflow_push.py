"""Pushes that touch `.github/workflows/`: refused for an App's installation token without the
`workflows` permission, with GitHub's reason in git's own report; accepted for people."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from githubkit import AppAuthStrategy

from tests.ghsim_support import Ghsim, git, push_files, unique

WORKFLOW = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: 'true'\n"


def _repo(ghsim: Ghsim, tmp_path: Path) -> tuple[str, str]:
    owner, name = unique("wf"), unique("repo")
    ghsim.person(owner).rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    files = {".github/workflows/ci.yml": WORKFLOW, "a.txt": "a\n"}
    push_files(ghsim, f"{owner}/{name}", f"ghp_sim_{owner}", "main", files, tmp_path)
    return owner, f"{owner}/{name}"


def _bot_token(ghsim: Ghsim) -> str:
    installation = ghsim.app_info["installation_id"]
    made = ghsim.app().rest.apps.create_installation_access_token(installation)
    return str(made.parsed_data.token)


def _push(ghsim: Ghsim, full: str, token: str, files: dict[str, str], tmp: Path) -> str:
    try:
        push_files(ghsim, full, token, unique("change"), files, tmp)
    except AssertionError as failed:
        return str(failed)
    return ""


def test_an_app_without_workflows_cannot_push_workflow_files(ghsim: Ghsim, tmp_path: Path) -> None:
    owner, full = _repo(ghsim, tmp_path)
    token = _bot_token(ghsim)
    for files in ({".github/workflows/ci.yml": "changed\n"}, {".github/workflows/new.yml": "x\n"}):
        path = next(iter(files))
        refused = _push(ghsim, full, token, {**files, "b.txt": "b\n"}, tmp_path)
        assert "! [remote rejected]" in refused
        assert (
            f"(refusing to allow a GitHub App to create or update workflow `{path}` "
            "without `workflows` permission)"
        ) in refused
    branches = ghsim.person(owner).rest.repos.list_branches(owner, full.split("/")[1])
    assert [b.name for b in branches.parsed_data] == ["main"]  # nothing of the refused pushes
    # Other files, and a branch started from commits that already hold workflows, are fine.
    assert _push(ghsim, full, token, {"b.txt": "b\n"}, tmp_path) == ""


def test_deleting_a_workflow_file_is_refused_too(ghsim: Ghsim, tmp_path: Path) -> None:
    _, full = _repo(ghsim, tmp_path)
    url = f"http://x:{_bot_token(ghsim)}@127.0.0.1:{ghsim.port}/{full}.git"
    clone = tmp_path / unique("clone")
    git("clone", "--quiet", url, str(clone))
    git("rm", "--quiet", ".github/workflows/ci.yml", cwd=clone)
    git("commit", "--quiet", "-m", "drop ci", cwd=clone)
    refusal = r"create or update workflow `\.github/workflows/ci\.yml`"
    with pytest.raises(AssertionError, match=refusal):
        git("push", "origin", "HEAD:refs/heads/drop", cwd=clone)
    # Deleting a branch (whatever it holds) changes no file.
    git("push", "--quiet", "origin", "HEAD~1:refs/heads/gone", cwd=clone)
    git("push", "--quiet", "origin", ":refs/heads/gone", cwd=clone)


def test_people_and_apps_with_workflows_may_push_them(ghsim: Ghsim, tmp_path: Path) -> None:
    owner, full = _repo(ghsim, tmp_path)
    files = {".github/workflows/ci.yml": "changed\n"}
    assert _push(ghsim, full, f"ghp_sim_{owner}", files, tmp_path) == ""

    manifest = {
        "name": unique("Flows"),
        "url": "https://example.com/flows",
        "redirect_url": "http://127.0.0.1:1/back",
        "default_permissions": {"contents": "write", "workflows": "write"},
    }
    resp = httpx.post(
        f"{ghsim.base_url}/settings/apps/new",
        data={"manifest": json.dumps(manifest)},
        follow_redirects=False,
    )
    code = parse_qs(urlsplit(resp.headers["location"]).query)["code"][0]
    app = httpx.post(f"{ghsim.api_url}app-manifests/{code}/conversions").json()
    as_app = ghsim.client(AppAuthStrategy(str(app["id"]), app["pem"]))
    installation = as_app.rest.apps.get_repo_installation(owner, full.split("/")[1]).parsed_data
    token = as_app.rest.apps.create_installation_access_token(installation.id).parsed_data.token
    assert _push(ghsim, full, token, {".github/workflows/ci.yml": "again\n"}, tmp_path) == ""
