"""Draft pull requests as GitHub's plans allow them: refused on private repositories of
accounts on Free or Pro, with GitHub's bare 422 message; allowed on public ones and on Team."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from githubkit.exception import RequestFailed

from tests.ghsim_support import Ghsim, push_files, unique


def _repo(ghsim: Ghsim, tmp_path: Path, private: bool) -> tuple[str, str]:
    owner, name = unique("plan"), unique("repo")
    ghsim.person(owner).rest.repos.create_for_authenticated_user(
        name=name, auto_init=True, private=private
    )
    push_files(ghsim, f"{owner}/{name}", f"ghp_sim_{owner}", "feature", {"a": "a\n"}, tmp_path)
    return owner, name


def _set_plan(ghsim: Ghsim, login: str, plan: str, as_login: str | None = None) -> httpx.Response:
    return httpx.put(
        f"{ghsim.api_url}_ghsim/users/{login}/plan",
        json={"name": plan},
        headers={"Authorization": f"token ghp_sim_{as_login or login}"},
    )


def test_a_private_repository_on_a_free_plan_refuses_drafts(ghsim: Ghsim, tmp_path: Path) -> None:
    owner, name = _repo(ghsim, tmp_path, private=True)
    bot = ghsim.installation()
    with pytest.raises(RequestFailed) as refused:
        bot.rest.pulls.create(owner, name, title="T", head="feature", base="main", draft=True)
    assert refused.value.response.status_code == 422
    body = refused.value.response.json()
    assert body["message"] == "Draft pull requests are not supported in this repository."
    assert "errors" not in body and body["documentation_url"].startswith("https://docs.github")
    assert bot.rest.pulls.list(owner, name).parsed_data == []
    # The same pull request as a normal one is fine.
    pull = bot.rest.pulls.create(owner, name, title="[WIP] T", head="feature", base="main")
    assert pull.parsed_data.draft is False


def test_public_repositories_and_team_plans_have_drafts(ghsim: Ghsim, tmp_path: Path) -> None:
    owner, name = _repo(ghsim, tmp_path, private=False)
    made = ghsim.person(owner).rest.pulls.create(
        owner, name, title="T", head="feature", base="main", draft=True
    )
    assert made.parsed_data.draft is True

    owner, name = _repo(ghsim, tmp_path, private=True)
    assert ghsim.person(owner).rest.users.get_authenticated().parsed_data.plan.name == "free"
    assert _set_plan(ghsim, owner, "team").status_code == 204
    assert ghsim.person(owner).rest.users.get_authenticated().parsed_data.plan.name == "team"
    made = ghsim.installation().rest.pulls.create(
        owner, name, title="T", head="feature", base="main", draft=True
    )
    assert made.parsed_data.draft is True


def test_only_the_account_or_the_admin_sets_a_plan(ghsim: Ghsim) -> None:
    owner = unique("acct")
    ghsim.person(owner).rest.users.get_authenticated()
    refused = _set_plan(ghsim, owner, "team", as_login=unique("other"))
    assert refused.status_code == 403
    bad = _set_plan(ghsim, owner, "platinum")
    assert bad.status_code == 422 and bad.json()["message"] == "Validation Failed"
    assert _set_plan(ghsim, owner, "pro", as_login="ghsim").status_code == 204
    assert _set_plan(ghsim, unique("nobody"), "team", as_login="ghsim").status_code == 404
