"""ghsim against hostile or odd clients: aborted pushes, races, limits, odd input."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ghsim_support import Ghsim, GhsimProcess, push_files, unique


def new_repo(ghsim: Ghsim, owner: str) -> str:
    name = unique("repo")
    ghsim.person(owner).rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    return name


def auth(login: str) -> dict[str, str]:
    return {"Authorization": f"token ghp_sim_{login}"}


def backends_of(data_dir: Path) -> list[int]:
    """git-http-backend processes serving ``data_dir``'s repositories."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if b"http-backend" in cmdline and str(data_dir).encode() in environ:
            found.append(int(pid))
    return found


def test_aborted_push_neither_blocks_later_pushes_nor_leaves_backends(
    ghsim: Ghsim, tmp_path: Path
) -> None:
    owner = unique("pusher")
    name = new_repo(ghsim, owner)
    basic = base64.b64encode(f"x:ghp_sim_{owner}".encode()).decode()
    with socket.create_connection(("127.0.0.1", ghsim.port)) as sock:
        sock.sendall(
            (
                f"POST /{owner}/{name}.git/git-receive-pack HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{ghsim.port}\r\n"
                f"Authorization: Basic {basic}\r\n"
                "Content-Type: application/x-git-receive-pack-request\r\n"
                "Content-Length: 100000\r\n\r\n0000"
            ).encode()
        )
        time.sleep(0.5)
    url = f"http://x:ghp_sim_{owner}@127.0.0.1:{ghsim.port}/{owner}/{name}.git"
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", url, str(clone)], check=True, timeout=20)
    (clone / "after.txt").write_text("after\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "add", "."], cwd=clone, check=True)
    subprocess.run(["git", "commit", "-qm", "after"], cwd=clone, check=True, env=env)
    started = time.monotonic()
    subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=clone, check=True, timeout=20)
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 5
    while backends_of(ghsim.data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert backends_of(ghsim.data_dir) == []


def test_second_ghsim_on_one_data_dir_refuses_to_start(ghsim: Ghsim) -> None:
    second = GhsimProcess(ghsim.data_dir, None)
    args = ["-m", "ghsim", "--port", str(second.port), "--data-dir", str(ghsim.data_dir)]
    result = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode != 0
    assert "in use" in result.stderr and str(ghsim.data_dir) in result.stderr
    assert httpx.get(f"{ghsim.base_url}/").status_code == 200


def test_concurrent_merges_of_one_pull_merge_once(ghsim: Ghsim, tmp_path: Path) -> None:
    owner = unique("merger")
    name = new_repo(ghsim, owner)
    push_files(ghsim, f"{owner}/{name}", f"ghp_sim_{owner}", "feature", {"f.txt": "f\n"}, tmp_path)
    pull = ghsim.person(owner).rest.pulls.create(
        owner, name, title="t", head="feature", base="main"
    )
    url = f"{ghsim.api_url}repos/{owner}/{name}/pulls/{pull.parsed_data.number}/merge"
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(lambda _: httpx.put(url, headers=auth(owner), timeout=30), range(6))
        )
    assert sorted(a.status_code for a in answers) == [200] + [405] * 5, [a.text for a in answers]
    refused = [a.json()["message"] for a in answers if a.status_code == 405]
    assert set(refused) == {"Pull Request is not mergeable"}


def assert_validation_failed(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"] == "Validation Failed"
    assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_bodies_over_github_limit_and_bad_labels_are_refused(ghsim: Ghsim, tmp_path: Path) -> None:
    owner = unique("limits")
    name = new_repo(ghsim, owner)
    api, h = f"{ghsim.api_url}repos/{owner}/{name}", auth(owner)
    long, limit = "x" * 65537, "x" * 65536
    assert_validation_failed(
        httpx.post(f"{api}/issues", json={"title": "t", "body": long}, headers=h), "body"
    )
    issue = httpx.post(f"{api}/issues", json={"title": "t", "body": limit}, headers=h)
    assert issue.status_code == 201
    number = issue.json()["number"]
    assert_validation_failed(
        httpx.patch(f"{api}/issues/{number}", json={"body": long}, headers=h), "body"
    )
    comments = f"{api}/issues/{number}/comments"
    assert_validation_failed(httpx.post(comments, json={"body": long}, headers=h), "body")
    comment = httpx.post(comments, json={"body": "ok"}, headers=h).json()
    edit = httpx.patch(f"{api}/issues/comments/{comment['id']}", json={"body": long}, headers=h)
    assert_validation_failed(edit, "body")
    push_files(ghsim, f"{owner}/{name}", f"ghp_sim_{owner}", "feature", {"f.txt": "f\n"}, tmp_path)
    pull = {"title": "p", "head": "feature", "base": "main"}
    assert_validation_failed(
        httpx.post(f"{api}/pulls", json={**pull, "body": long}, headers=h), "body"
    )
    created = httpx.post(f"{api}/pulls", json=pull, headers=h).json()
    pulls = f"{api}/pulls/{created['number']}"
    assert_validation_failed(httpx.patch(pulls, json={"body": long}, headers=h), "body")
    line = {"path": "f.txt", "line": 1, "side": "RIGHT", "commit_id": created["head"]["sha"]}
    review_comment = httpx.post(f"{pulls}/comments", json={**line, "body": long}, headers=h)
    assert_validation_failed(review_comment, "body")
    review = httpx.post(f"{pulls}/reviews", json={"event": "COMMENT", "body": long}, headers=h)
    assert_validation_failed(review, "body")

    for color in ("red", "12345", "1234567", "gggggg"):
        bad = httpx.post(f"{api}/labels", json={"name": unique("l"), "color": color}, headers=h)
        assert_validation_failed(bad, "color")
    good = httpx.post(f"{api}/labels", json={"name": "ok", "color": "#A0B1C2"}, headers=h)
    assert good.status_code == 201 and good.json()["color"] == "a0b1c2"
    for url in (f"{api}/issues/{number}/labels",):
        assert httpx.post(url, json={"labels": [{"a": 1}]}, headers=h).status_code == 422
        assert httpx.put(url, json=[{"a": 1}], headers=h).status_code == 422
        assert httpx.post(url, json=[1], headers=h).status_code == 422
    odd = httpx.post(f"{api}/issues", json={"title": "t", "labels": [{"a": 1}]}, headers=h)
    assert odd.status_code == 422


def test_huge_numbers_and_escaping_paths_are_not_found(ghsim: Ghsim) -> None:
    owner = unique("odd")
    name = new_repo(ghsim, owner)
    api, h = f"{ghsim.api_url}repos/{owner}/{name}", auth(owner)
    huge = "99999999999999999999999"
    for path in (
        f"issues/{huge}",
        f"pulls/{huge}",
        f"issues/comments/{huge}",
        f"pulls/comments/{huge}",
        f"issues/{huge}/comments",
        f"pulls/{huge}/reviews",
    ):
        answer = httpx.get(f"{api}/{path}", headers=h)
        assert answer.status_code == 404, (path, answer.status_code, answer.text)
    for path in ("..%2F..%2Fetc%2Fpasswd", "a%2F..%2F..%2Fx", ".%2FREADME.md", "a//b"):
        answer = httpx.get(f"{api}/contents/{path}", headers=h)
        assert answer.status_code == 404, (path, answer.status_code, answer.text)
    assert httpx.get(f"{api}/contents/README.md", headers=h).status_code == 200


def test_html_view_links_only_http_and_colours_only_hex() -> None:
    from ghsim.routes.web import hex_color, safe_url

    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "//evil", None):
        assert safe_url(bad) is None, bad
    for good in ("https://ci.example/run/1", "http://x/y", "/o/r/pull/1"):
        assert safe_url(good) == good
    assert hex_color("a0B1c2") == "a0B1c2"
    for bad_color in ("red", "fff", "000000;background:url(x)", "12345g", None):
        assert hex_color(bad_color) == ""


def test_html_view_drops_javascript_details_url(ghsim: Ghsim, tmp_path: Path) -> None:
    owner = unique("view")
    name = new_repo(ghsim, owner)
    sha = push_files(ghsim, f"{owner}/{name}", f"ghp_sim_{owner}", "f", {"f": "f\n"}, tmp_path)
    ghsim.person(owner).rest.pulls.create(owner, name, title="p", head="f", base="main")
    token = ghsim.installation()
    token.rest.checks.create(
        owner, name, name="evil", head_sha=sha, details_url="javascript:alert(document.cookie)"
    )
    page = httpx.get(f"{ghsim.base_url}/{owner}/{name}/pull/1")
    assert page.status_code == 200 and "evil" in page.text
    assert "javascript:" not in page.text


def test_refusals_use_githubs_wording_per_level(ghsim: Ghsim) -> None:
    owner, reader, triager = unique("owner"), unique("reader"), unique("triager")
    name = new_repo(ghsim, owner)
    gh = ghsim.person(owner)
    gh.rest.repos.add_collaborator(owner, name, reader, permission="pull")
    gh.rest.repos.add_collaborator(owner, name, triager, permission="triage")
    api = f"{ghsim.api_url}repos/{owner}/{name}"
    issue = httpx.post(f"{api}/issues", json={"title": "t"}, headers=auth(owner)).json()

    def refusal(login: str | None, method: str, path: str, body: Any, token: str = "") -> str:
        headers = {"Authorization": f"token {token}"} if token else auth(login or "")
        answer = httpx.request(method, f"{api}/{path}", json=body, headers=headers)
        assert answer.status_code == 403, answer.text
        return str(answer.json()["message"])

    labels = f"issues/{issue['number']}/labels"
    assert refusal(reader, "POST", labels, ["x"]) == "Must have triage access to repository"
    label = {"name": "n", "color": "ffffff"}
    assert refusal(triager, "POST", "labels", label) == "Must have push access to repository"
    collaborator = f"collaborators/{unique('x')}"
    assert refusal(triager, "PUT", collaborator, {}) == "Must have admin rights to Repository."
    installation = ghsim.app().rest.apps.create_installation_access_token(
        ghsim.app_info["installation_id"]
    )
    token = installation.parsed_data.token
    assert refusal(None, "PUT", collaborator, {}, token) == "Resource not accessible by integration"


def test_installation_tokens_keep_to_their_scope_and_can_be_revoked(
    ghsim: Ghsim, tmp_path: Path
) -> None:
    owner = unique("scoped")
    a, b = new_repo(ghsim, owner), new_repo(ghsim, owner)
    installation = ghsim.app_info["installation_id"]
    app = ghsim.app()
    scoped = app.rest.apps.create_installation_access_token(installation, repositories=[a])
    assert scoped.parsed_data.repository_selection == "selected"
    assert [r.name for r in scoped.parsed_data.repositories or []] == [a]
    h = {"Authorization": f"token {scoped.parsed_data.token}"}
    api = f"{ghsim.api_url}repos/{owner}"
    assert httpx.post(f"{api}/{a}/issues", json={"title": "ok"}, headers=h).status_code == 201
    refused = httpx.post(f"{api}/{b}/issues", json={"title": "no"}, headers=h)
    assert refused.status_code == 403, refused.text
    assert refused.json()["message"] == "Resource not accessible by integration"
    assert httpx.get(f"{api}/{b}", headers=h).status_code == 200  # public: still readable
    with pytest.raises(AssertionError, match=r"403|denied"):
        push_files(ghsim, f"{owner}/{b}", scoped.parsed_data.token, "x", {"x": "x"}, tmp_path)

    read_only = app.rest.apps.create_installation_access_token(
        installation, permissions={"issues": "read"}
    ).parsed_data
    assert read_only.permissions.issues == "read"
    ro = {"Authorization": f"token {read_only.token}"}
    assert httpx.post(f"{api}/{a}/issues", json={"title": "no"}, headers=ro).status_code == 403
    too_much = httpx.post(
        f"{ghsim.api_url}app/installations/{installation}/access_tokens",
        json={"permissions": {"administration": "write"}},
        headers={"Authorization": f"Bearer {app_jwt(ghsim)}"},
    )
    assert too_much.status_code == 422

    revoked = httpx.delete(f"{ghsim.api_url}installation/token", headers=h)
    assert revoked.status_code == 204
    assert httpx.get(f"{api}/{a}", headers=h).status_code == 401
    assert httpx.get(f"{api}/{a}", headers=ro).status_code == 200


def app_jwt(ghsim: Ghsim) -> str:
    import jwt

    now = int(time.time())
    claims = {"iat": now - 30, "exp": now + 300, "iss": str(ghsim.app_info["app_id"])}
    return str(jwt.encode(claims, ghsim.private_key, algorithm="RS256"))
