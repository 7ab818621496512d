"""Git over smart HTTP against ghsim: anonymous clone, pushes with and without rights."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.sim_process import (
    Ghsim,
    WebhookReceiver,
    assert_signed,
    run_git,
    running_ghsim,
    write_files,
)


def clone_and_commit(
    sim: Ghsim, repo: str, tmp_path: Path, branch: str | None, files: dict[str, str], message: str
) -> Path:
    """An anonymous clone of ``repo`` with one commit of ``files`` (on a new ``branch``)."""
    run_git(tmp_path, "clone", "-q", sim.git_url(repo), "clone")
    work = tmp_path / "clone"
    if branch is not None:
        run_git(work, "checkout", "-qb", branch)
    write_files(work, files)
    run_git(work, "add", ".")
    run_git(work, "commit", "-qm", message)
    return work


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver().running() as hooks:
        yield hooks


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver) -> Iterator[Ghsim]:
    with running_ghsim(tmp_path_factory.mktemp("ghsim") / "data", receiver.url) as running:
        yield running


@pytest.fixture(scope="module")
def pushed_repo(sim: Ghsim, tmp_path_factory: pytest.TempPathFactory) -> str:
    """alice/hello with one commit on main, pushed with alice's token."""
    sim.person("alice").rest.repos.create_for_authenticated_user(name="hello")
    work = tmp_path_factory.mktemp("hello")
    run_git(work, "init", "-q")
    write_files(work, {"README.md": "# hello\n", "hello.py": "print('hello')\n"})
    run_git(work, "add", ".")
    run_git(work, "commit", "-qm", "First commit")
    run_git(work, "push", sim.git_url("alice/hello", "ghp_sim_alice"), "main")
    return "alice/hello"


def test_push_with_rights_emits_signed_push_and_create(
    sim: Ghsim, receiver: WebhookReceiver, pushed_repo: str
) -> None:
    push = receiver.event("push", where=lambda p: p["repository"]["full_name"] == pushed_repo)
    create = receiver.event("create", where=lambda p: p["repository"]["full_name"] == pushed_repo)
    for delivery in (push, create):
        assert_signed(delivery, sim.webhook_secret)
    assert push.payload["ref"] == "refs/heads/main"
    assert push.payload["created"] is True
    assert push.payload["pusher"]["name"] == "alice"
    assert push.payload["sender"]["login"] == "alice"
    assert [c["message"] for c in push.payload["commits"]] == ["First commit"]
    assert push.payload["head_commit"]["added"] == ["README.md", "hello.py"]
    assert create.payload["ref"] == "main" and create.payload["ref_type"] == "branch"
    repo = sim.person("alice").rest.repos.get("alice", "hello").parsed_data
    assert repo.default_branch == "main"


def test_anonymous_clone_of_public_repo(sim: Ghsim, pushed_repo: str, tmp_path: Path) -> None:
    run_git(tmp_path, "clone", "-q", sim.git_url(pushed_repo), "clone")
    assert (tmp_path / "clone" / "hello.py").read_text() == "print('hello')\n"


def test_push_without_rights_is_refused_with_403(
    sim: Ghsim, pushed_repo: str, tmp_path: Path
) -> None:
    files = {"bob.txt": "bob was here\n"}
    work = clone_and_commit(sim, pushed_repo, tmp_path, None, files, "Bob's change")
    result = run_git(work, "push", sim.git_url(pushed_repo, "ghp_sim_bob"), "main", check=False)
    assert result.returncode != 0
    assert "403" in result.stderr
    anonymous = run_git(work, "push", sim.git_url(pushed_repo), "main", check=False)
    assert anonymous.returncode != 0
    refs = httpx.get(f"{sim.git_url(pushed_repo)}/info/refs?service=git-receive-pack")
    assert refs.status_code == 401
    assert refs.headers["www-authenticate"] == 'Basic realm="GitHub"'


def test_collaborator_with_write_may_push(sim: Ghsim, pushed_repo: str, tmp_path: Path) -> None:
    sim.person("alice").rest.repos.add_collaborator("alice", "hello", "carol", permission="push")
    files = {"carol.txt": "hi\n"}
    work = clone_and_commit(sim, pushed_repo, tmp_path, "carol-branch", files, "Carol's change")
    run_git(work, "push", sim.git_url(pushed_repo, "ghp_sim_carol"), "carol-branch")


def test_push_with_installation_token(
    sim: Ghsim, receiver: WebhookReceiver, pushed_repo: str, tmp_path: Path
) -> None:
    app = sim.app_client()
    installation = app.rest.apps.get_repo_installation("alice", "hello").parsed_data
    token = app.rest.apps.create_installation_access_token(installation.id).parsed_data.token
    files = {"bot.txt": "made by the bot\n"}
    work = clone_and_commit(sim, pushed_repo, tmp_path, "pilot/issue-1-demo", files, "Bot change")
    mark = len(receiver.deliveries)
    run_git(work, "push", sim.git_url(pushed_repo, token, "x-access-token"), "pilot/issue-1-demo")
    push = receiver.event(
        "push", after=mark, where=lambda p: p["ref"] == "refs/heads/pilot/issue-1-demo"
    )
    assert push.payload["sender"]["login"] == sim.app["bot_login"]
    assert push.payload["sender"]["type"] == "Bot"
    branch = sim.person("alice").rest.repos.get_branch("alice", "hello", "pilot/issue-1-demo")
    assert branch.parsed_data.commit.sha == push.payload["after"]
    deleted = run_git(
        work,
        "push",
        sim.git_url(pushed_repo, token, "x-access-token"),
        "--delete",
        "pilot/issue-1-demo",
    )
    assert deleted.returncode == 0
    gone = receiver.event("delete", after=mark)
    assert gone.payload["ref"] == "pilot/issue-1-demo"
