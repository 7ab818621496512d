"""`GET /repos/{o}/{r}/commits` and `GET /repos/{o}/{r}/compare/{basehead}` as githubkit reads
them: filters, GitHub's pagination and its refusals."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from githubkit.exception import RequestFailed

from tests.ghsim_support import Ghsim, push_files, unique


def _history(ghsim: Ghsim, tmp_path: Path) -> tuple[str, str, list[str]]:
    """main: initial, a, b, a again; feature: one commit off the second."""
    owner, name = unique("log"), unique("repo")
    ghsim.person(owner).rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    token, full = f"ghp_sim_{owner}", f"{owner}/{name}"
    shas = [push_files(ghsim, full, token, "main", {"a.txt": "1\n"}, tmp_path)]
    push_files(ghsim, full, token, "feature", {"c.txt": "1\n"}, tmp_path)
    shas.append(push_files(ghsim, full, token, "main", {"b.txt": "1\n"}, tmp_path))
    shas.append(push_files(ghsim, full, token, "main", {"a.txt": "2\n"}, tmp_path))
    return owner, name, shas


def test_list_commits_by_branch_path_and_page(ghsim: Ghsim, tmp_path: Path) -> None:
    owner, name, shas = _history(ghsim, tmp_path)
    gh = ghsim.person(owner)
    listed = gh.rest.repos.list_commits(owner, name).parsed_data
    assert [c.sha for c in listed[:3]] == shas[::-1] and len(listed) == 4
    assert listed[0].commit.message.strip() == "change" and listed[0].parents[0].sha == shas[1]
    on_a = gh.rest.repos.list_commits(owner, name, path="a.txt").parsed_data
    assert [c.sha for c in on_a] == [shas[2], shas[0]]
    feature = gh.rest.repos.list_commits(owner, name, sha="feature").parsed_data
    assert len(feature) == 3 and feature[1].sha == shas[0]
    assert [c.sha for c in gh.rest.repos.list_commits(owner, name, sha=shas[1]).parsed_data][
        :2
    ] == [shas[1], shas[0]]

    page = gh.rest.repos.list_commits(owner, name, per_page=2, page=1)
    assert [c.sha for c in page.parsed_data] == [shas[2], shas[1]]
    assert 'rel="next"' in page.headers["link"] and 'rel="last"' in page.headers["link"]
    every = list(gh.rest.paginate(gh.rest.repos.list_commits, owner=owner, repo=name, per_page=1))
    assert [c.sha for c in every] == [c.sha for c in listed]

    future = gh.rest.repos.list_commits(owner, name, since="2999-01-01T00:00:00Z").parsed_data
    assert future == []


def test_list_commits_refusals(ghsim: Ghsim) -> None:
    owner, name = unique("log"), unique("empty")
    gh = ghsim.person(owner)
    gh.rest.repos.create_for_authenticated_user(name=name)
    with pytest.raises(RequestFailed) as empty:
        gh.rest.repos.list_commits(owner, name)
    assert empty.value.response.status_code == 409
    assert empty.value.response.json()["message"] == "Git Repository is empty."

    gh.rest.repos.create_for_authenticated_user(name=name + "-x", auto_init=True)
    with pytest.raises(RequestFailed) as missing:
        gh.rest.repos.list_commits(owner, name + "-x", sha="no-such-branch")
    assert missing.value.response.status_code == 404
    body = missing.value.response.json()
    assert body["message"] == "No commit found for SHA: no-such-branch"
    assert body["documentation_url"]


def test_compare_two_commits(ghsim: Ghsim, tmp_path: Path) -> None:
    owner, name, shas = _history(ghsim, tmp_path)
    gh = ghsim.person(owner)
    diverged = gh.rest.repos.compare_commits(owner, name, "main...feature").parsed_data
    assert diverged.status == "diverged" and (diverged.ahead_by, diverged.behind_by) == (1, 2)
    assert diverged.merge_base_commit.sha == shas[0] and diverged.base_commit.sha == shas[2]
    assert [f.filename for f in diverged.files or []] == ["c.txt"]
    assert diverged.total_commits == 1 and diverged.commits[0].parents[0].sha == shas[0]

    ahead = gh.rest.repos.compare_commits(owner, name, f"{shas[0]}...main").parsed_data
    assert (ahead.status, [c.sha for c in ahead.commits]) == ("ahead", shas[1:])
    behind = gh.rest.repos.compare_commits(owner, name, f"main..{shas[1]}").parsed_data
    assert (behind.status, behind.behind_by, behind.commits) == ("behind", 1, [])
    same = gh.rest.repos.compare_commits(owner, name, "main...main").parsed_data
    assert same.status == "identical" and same.files == []

    url = f"{ghsim.api_url}repos/{owner}/{name}/compare/main...nope"
    missing = httpx.get(url, headers={"Authorization": f"token ghp_sim_{owner}"})
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
