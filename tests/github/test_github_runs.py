"""What a run asks of GitHub, through `GitHubKitApp` against a real ghsim process."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from githubkit.cache import MemCacheStrategy

from bot.github.api import Repo
from bot.github.backend import GitHubKitApp, InstallationClient
from tests.ghsim_support import Ghsim, git, push_files, unique

BRANCH = "pilot/issue-1-greet"


@dataclass(frozen=True)
class Seeded:
    repo: Repo
    issue: int
    labelled: int
    head_sha: str


@pytest.fixture(scope="module")
def seeded(ghsim: Ghsim, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """A repository made by a person, with files on main, a work branch and issues."""
    alice = ghsim.person("alice")
    name = unique("runs")
    alice.rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    full_name = f"alice/{name}"
    work = tmp_path_factory.mktemp("runs")
    files = {".github/pilot.yml": "test: pytest\n", "docs/a b.md": "héllo\n"}
    push_files(ghsim, full_name, "ghp_sim_alice", "main", files, work)
    head_sha = push_files(
        ghsim, full_name, "ghp_sim_alice", BRANCH, {"greet.py": "print('bonjour')\n"}, work
    )
    plain = alice.rest.issues.create("alice", name, title="Greet", body="In French").parsed_data
    labelled = alice.rest.issues.create("alice", name, title="Tagged").parsed_data
    alice.rest.issues.add_labels(
        "alice", name, labelled.number, labels=["pilot", "needs: human help", "why? #42"]
    )
    return Seeded(Repo("alice", name), plain.number, labelled.number, head_sha)


@pytest.fixture
async def app(ghsim: Ghsim) -> AsyncIterator[GitHubKitApp]:
    # Per test: the connection pool belongs to the test's event loop.
    github = GitHubKitApp(
        int(ghsim.app_info["app_id"]),
        ghsim.private_key,
        ghsim.api_url,
        cache_strategy=MemCacheStrategy(),
        auto_retry=False,
    )
    yield github
    await github.aclose()


@pytest.fixture
async def gh(app: GitHubKitApp, seeded: Seeded) -> InstallationClient:
    return await app.client(seeded.repo, None)


async def test_repository(gh: InstallationClient, seeded: Seeded, ghsim: Ghsim) -> None:
    info = await gh.repository(seeded.repo)
    assert info.full_name == seeded.repo.full_name
    assert info.default_branch == "main"
    assert info.clone_url == f"{ghsim.base_url}/{seeded.repo.full_name}.git"
    assert info.html_url == f"{ghsim.base_url}/{seeded.repo.full_name}"
    assert info.private is False


async def test_issue(gh: InstallationClient, seeded: Seeded) -> None:
    issue = await gh.issue(seeded.repo, seeded.issue)
    assert (issue.number, issue.title, issue.body, issue.state) == (
        seeded.issue,
        "Greet",
        "In French",
        "open",
    )
    assert issue.author == "alice"
    assert issue.labels == ()
    assert issue.html_url.endswith(f"/{seeded.repo.full_name}/issues/{seeded.issue}")
    assert not issue.is_pull_request
    tagged = await gh.issue(seeded.repo, seeded.labelled)
    assert set(tagged.labels) == {"pilot", "needs: human help", "why? #42"}
    assert tagged.body == ""


async def test_file_text(gh: InstallationClient, seeded: Seeded) -> None:
    assert await gh.file_text(seeded.repo, ".github/pilot.yml", "main") == "test: pytest\n"
    assert await gh.file_text(seeded.repo, ".github/pilot.yml") == "test: pytest\n"
    assert await gh.file_text(seeded.repo, "docs/a b.md", "main") == "héllo\n"
    assert await gh.file_text(seeded.repo, "greet.py", BRANCH) == "print('bonjour')\n"
    assert await gh.file_text(seeded.repo, "greet.py", seeded.head_sha) == "print('bonjour')\n"


async def test_file_text_is_none_when_there_is_no_file(
    gh: InstallationClient, seeded: Seeded
) -> None:
    assert await gh.file_text(seeded.repo, "greet.py", "main") is None
    assert await gh.file_text(seeded.repo, "missing.txt", "main") is None
    assert await gh.file_text(seeded.repo, ".github", "main") is None
    assert await gh.file_text(seeded.repo, "README.md", "no-such-branch") is None
    assert await gh.file_text(Repo("alice", unique("absent")), "README.md", "main") is None


async def test_draft_pull_is_created_found_by_head_and_updated(
    gh: InstallationClient, seeded: Seeded
) -> None:
    assert await gh.find_pull(seeded.repo, BRANCH) is None
    created = await gh.create_pull(
        seeded.repo, BRANCH, "main", "Greet in French", f"Closes #{seeded.issue}"
    )
    assert created.draft and created.state == "open" and not created.merged
    assert (created.head_ref, created.head_sha) == (BRANCH, seeded.head_sha)
    assert created.body == f"Closes #{seeded.issue}"
    assert created.html_url.endswith(f"/pull/{created.number}")

    assert await gh.find_pull(seeded.repo, BRANCH) == created
    assert await gh.find_pull(seeded.repo, "pilot/issue-404-none") is None
    assert (await gh.issue(seeded.repo, created.number)).is_pull_request

    await gh.update_pull(seeded.repo, created.number, body="Closes #1\n\n- [x] greet")
    found = await gh.find_pull(seeded.repo, BRANCH)
    assert found is not None
    assert found.body == "Closes #1\n\n- [x] greet"
    await gh.update_pull(seeded.repo, created.number, title="Greet politely")
    assert (await gh.issue(seeded.repo, created.number)).title == "Greet politely"
    await gh.update_pull(seeded.repo, created.number)  # nothing to change, no request


async def test_find_pull_sees_closed_pulls_newest_first(
    gh: InstallationClient, seeded: Seeded, ghsim: Ghsim, tmp_path: Path
) -> None:
    branch = "pilot/issue-2-closed"
    push_files(ghsim, seeded.repo.full_name, "ghp_sim_alice", branch, {"x.txt": "x\n"}, tmp_path)
    first = await gh.create_pull(seeded.repo, branch, "main", "First", "one", draft=False)
    assert not first.draft
    alice = ghsim.person("alice")
    alice.rest.pulls.update(seeded.repo.owner, seeded.repo.name, first.number, state="closed")
    closed = await gh.find_pull(seeded.repo, branch)
    assert closed is not None and (closed.number, closed.state) == (first.number, "closed")

    second = await gh.create_pull(seeded.repo, branch, "main", "Second", "two")
    newest = await gh.find_pull(seeded.repo, branch)
    assert newest is not None and newest.number == second.number > first.number


async def test_get_comment(gh: InstallationClient, seeded: Seeded) -> None:
    made = await gh.create_comment(seeded.repo, seeded.issue, "status")
    assert await gh.get_comment(seeded.repo, made.id) == made
    assert made.author.endswith("[bot]")
    assert await gh.get_comment(seeded.repo, 987654321) is None


async def test_remove_label(gh: InstallationClient, seeded: Seeded) -> None:
    await gh.remove_label(seeded.repo, seeded.labelled, "needs: human help")
    assert set((await gh.issue(seeded.repo, seeded.labelled)).labels) == {"pilot", "why? #42"}
    await gh.remove_label(seeded.repo, seeded.labelled, "WHY? #42")
    assert (await gh.issue(seeded.repo, seeded.labelled)).labels == ("pilot",)
    await gh.remove_label(seeded.repo, seeded.labelled, "needs: human help")
    await gh.remove_label(seeded.repo, seeded.labelled, "why? #42")
    await gh.remove_label(seeded.repo, seeded.labelled, "never-there")
    assert (await gh.issue(seeded.repo, seeded.labelled)).labels == ("pilot",)


async def test_push_token_works_for_git_over_http(
    gh: InstallationClient, seeded: Seeded, ghsim: Ghsim, tmp_path: Path
) -> None:
    token = await gh.push_token(seeded.repo)
    assert token and await gh.push_token(seeded.repo) == token
    url = f"http://x-access-token:{token}@127.0.0.1:{ghsim.port}/{seeded.repo.full_name}.git"
    assert f"{seeded.head_sha}\trefs/heads/{BRANCH}" in git("ls-remote", url)

    clone = tmp_path / "clone"
    git("clone", "--quiet", url, str(clone))
    (clone / "bot.txt").write_text("from the bot\n")
    git("add", "bot.txt", cwd=clone)
    git("commit", "--quiet", "-m", "bot change", cwd=clone)
    git("push", "--quiet", "origin", "HEAD:refs/heads/pilot/issue-3-token", cwd=clone)
    assert await gh.file_text(seeded.repo, "bot.txt", "pilot/issue-3-token") == "from the bot\n"


async def test_push_token_is_the_installations_for_every_repository(
    gh: InstallationClient, seeded: Seeded, ghsim: Ghsim
) -> None:
    # One mint an hour per installation, not one per repository (GitHub's rate limits).
    other = unique("other")
    alice = ghsim.person("alice")
    alice.rest.repos.create_for_authenticated_user(name=other, auto_init=True, private=True)
    token = await gh.push_token(seeded.repo)
    assert await gh.push_token(Repo("alice", other)) == token
    url = f"http://x-access-token:{token}@127.0.0.1:{ghsim.port}/alice/{other}.git"
    assert "HEAD" in git("ls-remote", url)


async def test_push_token_is_renewed_near_expiry(gh: InstallationClient, seeded: Seeded) -> None:
    token = await gh.push_token(seeded.repo)
    now = datetime.now(UTC)
    gh.tokens.clock = lambda: now + timedelta(minutes=50)
    assert await gh.push_token(seeded.repo) == token
    gh.tokens.clock = lambda: now + timedelta(minutes=56)
    renewed = await gh.push_token(seeded.repo)
    assert renewed != token
    gh.tokens.clock = lambda: now
    assert await gh.push_token(seeded.repo) == renewed


async def test_bot_identity(app: GitHubKitApp, ghsim: Ghsim) -> None:
    name, email = await app.bot_identity()
    login = await app.bot_login()
    assert name == login and name.endswith("[bot]")
    user_id = ghsim.person("alice").rest.users.get_by_username(login).parsed_data.id
    assert email == f"{user_id}+{login}@users.noreply.github.com"
    assert re.fullmatch(r"\d+\+[\w-]+\[bot\]@users\.noreply\.github\.com", email)
    assert await app.bot_identity() == (name, email)


async def test_bot_identity_is_how_github_attributes_bot_commits(
    app: GitHubKitApp, gh: InstallationClient, seeded: Seeded, ghsim: Ghsim, tmp_path: Path
) -> None:
    name, email = await app.bot_identity()
    token = await gh.push_token(seeded.repo)
    url = f"http://x-access-token:{token}@127.0.0.1:{ghsim.port}/{seeded.repo.full_name}.git"
    clone = tmp_path / "clone"
    git("clone", "--quiet", url, str(clone))
    (clone / "by-bot.txt").write_text("signed by the bot\n")
    git("add", "by-bot.txt", cwd=clone)
    git("commit", "--quiet", "--author", f"{name} <{email}>", "-m", "bot commit", cwd=clone)
    sha = git("rev-parse", "HEAD", cwd=clone)
    git("push", "--quiet", "origin", "HEAD:refs/heads/pilot/issue-4-author", cwd=clone)
    alice = ghsim.person("alice")
    commit = alice.rest.repos.get_commit(seeded.repo.owner, seeded.repo.name, sha).parsed_data
    assert commit.author is not None and commit.author.login == name


_BIG = "x" * 2048 + "\n"


def _big_file_github(request: httpx.Request) -> httpx.Response:
    """GitHub's answer for a file over 1 MB: no content unless the raw media type is asked."""
    path = request.url.path.removeprefix("/api/v3")
    if request.method == "POST" and path == "/app/installations/7/access_tokens":
        body = {"token": "ghs_unit", "expires_at": "2099-01-01T00:00:00Z", "permissions": {}}
        return httpx.Response(201, json=body)
    if path == "/repos/octo/cat/contents/big.txt":
        assert request.url.params.get("ref") == "main"
        if request.headers["accept"] == "application/vnd.github.raw":
            return httpx.Response(200, content=_BIG.encode())
        url = "https://github.test/api/v3/repos/octo/cat/contents/big.txt?ref=main"
        item = {
            "type": "file",
            "encoding": "none",
            "size": len(_BIG),
            "name": "big.txt",
            "path": "big.txt",
            "content": "",
            "sha": "0" * 40,
            "url": url,
            "git_url": None,
            "html_url": None,
            "download_url": None,
            "_links": {"self": url, "git": None, "html": None},
        }
        return httpx.Response(200, json=item)
    return httpx.Response(404, json={"message": "Not Found"})


async def test_file_text_fetches_large_files_raw(app_private_key: str) -> None:
    app = GitHubKitApp(
        1,
        app_private_key,
        "https://github.test/api/v3",
        transport=httpx.MockTransport(_big_file_github),
        cache_strategy=MemCacheStrategy(),
        auto_retry=False,
    )
    try:
        gh = app.for_installation(7)
        assert await gh.file_text(Repo("octo", "cat"), "big.txt", "main") == _BIG
    finally:
        await app.aclose()
