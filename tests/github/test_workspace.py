"""The host-side git workspace against a local bare remote, and once over ghsim's smart HTTP."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from bot.github.checkout import Checkout, PushRejected, UnsafePatch, WorkflowChange
from bot.github.git import WorkspaceError
from bot.github.workspace import Workspace
from tests.ghsim_support import Ghsim, push_files, unique

BOT = ("Issue Pilot", "pilot@example.com")
TRAILERS = [("Pilot-Issue", "#12"), ("Pilot-Node", "R1")]


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    """git as a person runs it, isolated from the host's config."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Alice",
        "GIT_AUTHOR_EMAIL": "alice@example.com",
        "GIT_COMMITTER_NAME": "Alice",
        "GIT_COMMITTER_EMAIL": "alice@example.com",
    }
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, f"git {args} failed: {result.stderr.decode()}"
    return result.stdout.decode().strip()


def commit_files(clone: Path, files: dict[str, bytes | None], message: str = "change") -> str:
    for name, content in files.items():
        target = clone / name
        if content is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", message)
    return git(clone, "rev-parse", "HEAD")


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repository with a `main` branch, as the remote."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    files: dict[str, bytes | None] = {
        "README.md": b"# demo\n",
        "src/app.py": b"print('hi')\n",
        "old.txt": b"to be deleted\n",
    }
    commit_files(seed, files, "First")
    git(seed, "push", "-q", "origin", "main")
    return bare


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "cache")


def person_clone(remote: Path, tmp_path: Path, branch: str = "main") -> Path:
    clone = tmp_path / unique("person")
    git(tmp_path, "clone", "-q", "-b", branch, str(remote), str(clone))
    return clone


def patch_of(clone: Path, files: dict[str, bytes | None]) -> bytes:
    """What the sandbox hands back: `git diff --cached --binary` of some edits."""
    for name, content in files.items():
        if content is None:
            (clone / name).unlink()
        else:
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            (clone / name).write_bytes(content)
    git(clone, "add", "-A")
    env_patch = subprocess.run(
        ["git", "diff", "--cached", "--binary"], cwd=clone, capture_output=True, check=True
    ).stdout
    git(clone, "reset", "-q", "--hard")
    return env_patch


def tar_names(tar: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        return {
            member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in archive.getmembers()
            if member.isfile()
        }


async def test_checkout_starts_from_base(workspace: Workspace, remote: Path) -> None:
    run = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/issue-12-x")
    try:
        assert run.base_sha == run.head_sha == git(remote, "rev-parse", "main")
        assert run.branch == "pilot/issue-12-x" and not run.resumed
        files = tar_names(await run.tree_tar())
        assert files == {
            "README.md": b"# demo\n",
            "src/app.py": b"print('hi')\n",
            "old.txt": b"to be deleted\n",
        }
        assert await run.file_at_head("src/app.py") == b"print('hi')\n"
        assert await run.file_at_head("missing.txt") is None
        assert await run.trailers_on_branch() == []
    finally:
        run.cleanup()
    assert not run.path.exists()
    run.cleanup()  # twice is fine


async def test_mirror_is_fetched_not_cloned_again(
    workspace: Workspace, remote: Path, tmp_path: Path
) -> None:
    first = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/a")
    mirror = workspace.mirror_path("alice/demo")
    inode = (mirror / "objects").stat().st_ino
    (mirror / "sentinel").write_text("still here")
    clone = person_clone(remote, tmp_path)
    newer = commit_files(clone, {"new.txt": b"new\n"})
    git(clone, "push", "-q", "origin", "main")
    second = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/b")
    assert workspace.mirrors_created == 1 and workspace.fetches == 2
    assert (mirror / "objects").stat().st_ino == inode
    assert (mirror / "sentinel").read_text() == "still here"
    assert first.base_sha != second.base_sha == newer
    assert await second.file_at_head("new.txt") == b"new\n"
    # A new Workspace on the same cache (another worker process) reuses the mirror too.
    again = Workspace(workspace.cache_dir)
    third = await again.checkout("alice/demo", str(remote), None, "main", "pilot/c")
    assert again.mirrors_created == 0 and third.base_sha == newer
    for run in (first, second, third):
        run.cleanup()


async def test_concurrent_checkouts_share_one_mirror(workspace: Workspace, remote: Path) -> None:
    runs = await asyncio.gather(
        *(
            workspace.checkout("alice/demo", str(remote), None, "main", f"pilot/{i}")
            for i in range(4)
        )
    )
    assert workspace.mirrors_created == 1 and workspace.fetches == 4
    assert len({run.path for run in runs}) == 4
    for run in runs:
        run.cleanup()


async def test_continues_from_existing_remote_branch(
    workspace: Workspace, remote: Path, tmp_path: Path
) -> None:
    clone = person_clone(remote, tmp_path)
    git(clone, "checkout", "-qb", "pilot/issue-12-x")
    tip = commit_files(
        clone, {"wip.txt": b"earlier run\n"}, "R1\n\nPilot-Issue: #12\nPilot-Node: R1"
    )
    git(clone, "push", "-q", "origin", "pilot/issue-12-x")
    run = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/issue-12-x")
    assert run.resumed and run.base_sha == run.head_sha == tip
    assert run.base_tip == git(remote, "rev-parse", "main")
    assert await run.trailers_on_branch() == [{"Pilot-Issue": "#12", "Pilot-Node": "R1"}]
    run.cleanup()


async def test_patch_with_binary_delete_and_rename_commits_with_trailers(
    workspace: Workspace, remote: Path, tmp_path: Path
) -> None:
    run = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/issue-12-x")
    image = bytes(range(256)) * 8
    patch = patch_of(
        person_clone(remote, tmp_path),
        {"logo.png": image, "old.txt": None, "src/app.py": b"print('hello')\n"},
    )
    assert b"GIT binary patch" in patch
    sha = await run.commit_patch(patch, "Add a logo\n\nAnd tidy up.", TRAILERS, BOT)
    assert sha is not None and run.head_sha == sha and run.base_sha != sha
    assert await run.file_at_head("logo.png") == image
    assert await run.file_at_head("old.txt") is None
    assert git(run.path, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha) == (
        "Issue Pilot <pilot@example.com>|Issue Pilot <pilot@example.com>"
    )
    assert git(run.path, "log", "-1", "--format=%B", sha) == (
        "Add a logo\n\nAnd tidy up.\n\nPilot-Issue: #12\nPilot-Node: R1"
    )
    # A second node's commit builds on the first.
    second = patch_of(person_clone(remote, tmp_path), {"notes.md": b"n\n"})
    sha2 = await run.commit_patch(
        second, "Notes", [("Pilot-Issue", "#12"), ("Pilot-Node", "R2")], BOT
    )
    assert git(run.path, "rev-parse", f"{sha2}^") == sha
    assert await run.trailers_on_branch() == [
        {"Pilot-Issue": "#12", "Pilot-Node": "R1"},
        {"Pilot-Issue": "#12", "Pilot-Node": "R2"},
    ]
    files = tar_names(await run.tree_tar())
    assert set(files) == {"README.md", "src/app.py", "logo.png", "notes.md"}
    await run.push(None)
    assert git(remote, "rev-parse", "refs/heads/pilot/issue-12-x") == sha2
    run.cleanup()


def pack_objects(tmp_path: Path, pack: bytes) -> set[str]:
    """The ids of the objects in `pack`, indexed in a fresh repository (so none come from
    elsewhere); index-pack refuses a thin pack whose delta bases are missing."""
    scratch = tmp_path / unique("unpacked")
    git(tmp_path, "init", "-q", "--bare", str(scratch))
    git(scratch, "index-pack", "--stdin", stdin=pack)
    listed = git(scratch, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return set(listed.split())


async def test_tree_pack_holds_exactly_the_head_commit_and_its_files(
    workspace: Workspace, remote: Path, tmp_path: Path
) -> None:
    clone = person_clone(remote, tmp_path)
    # History the pack must leave out: a blob only an older commit has, and one file changed.
    commit_files(clone, {"gone.txt": b"only in history\n"}, "Second")
    commit_files(clone, {"gone.txt": None, "src/app.py": b"print('hi again')\n"}, "Third")
    git(clone, "push", "-q", "origin", "main")
    run = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/x")
    sha = await run.commit_patch(new_file_patch("bot.txt"), "Bot change", TRAILERS, BOT)
    assert sha is not None
    expected = git(run.path, "rev-list", "--objects", "--no-walk", sha)
    objects = pack_objects(tmp_path, await run.tree_pack())
    assert objects == {line.split()[0] for line in expected.splitlines()}
    assert sha in objects and git(run.path, "rev-parse", f"{sha}^") not in objects
    assert git(run.path, "rev-parse", f"{sha}:src/app.py") in objects
    assert git(clone, "rev-parse", "HEAD~1:gone.txt") not in objects
    assert len(objects) == 7  # the commit, two trees, README.md, src/app.py, old.txt, bot.txt
    run.cleanup()


async def test_empty_patch_commits_nothing(workspace: Workspace, remote: Path) -> None:
    run = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/x")
    assert await run.commit_patch(b"", "nothing", TRAILERS, BOT) is None
    assert await run.commit_patch(b"\n  \n", "nothing", TRAILERS, BOT) is None
    assert run.head_sha == run.base_sha
    run.cleanup()


def new_file_patch(path: str) -> bytes:
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..45b983b\n"
        f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+hi\n"
    ).encode()


@pytest.mark.parametrize(
    "path", ["../x", "a/../../x", ".git/config", "sub/.GIT/hooks/pre-commit", ".git./config"]
)
async def test_patch_outside_the_tree_is_refused(
    workspace: Workspace, remote: Path, path: str
) -> None:
    run = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/x")
    with pytest.raises(WorkspaceError):
        await run.commit_patch(new_file_patch(path), "escape", TRAILERS, BOT)
    assert run.head_sha == run.base_sha
    assert not (workspace.cache_dir / "x").exists() and not (run.path.parent / "x").exists()
    # The checkout is still usable after a refusal.
    assert await run.commit_patch(new_file_patch("ok.txt"), "fine", TRAILERS, BOT)
    assert await run.file_at_head("ok.txt") == b"hi\n"
    run.cleanup()


async def test_our_own_path_check_refuses_before_git(workspace: Workspace, remote: Path) -> None:
    run = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/x")
    with pytest.raises(UnsafePatch):
        await run.commit_patch(new_file_patch(".git/config"), "escape", TRAILERS, BOT)
    run.cleanup()


async def test_a_patch_that_changes_workflows_is_refused_when_they_are_read_only(
    workspace: Workspace, remote: Path
) -> None:
    run = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/x")
    patch = new_file_patch(".github/workflows/ci.yml") + new_file_patch("ok.txt")
    with pytest.raises(WorkflowChange) as refused:
        await run.commit_patch(patch, "ci", TRAILERS, BOT, workflows_read_only=True)
    assert refused.value.paths == [".github/workflows/ci.yml"]
    assert run.head_sha == run.base_sha
    assert await run.commit_patch(patch, "ci", TRAILERS, BOT)  # where they are allowed
    run.cleanup()


async def test_push_never_forces_over_someone_elses_commit(
    workspace: Workspace, remote: Path, tmp_path: Path
) -> None:
    run = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/issue-12-x")
    await run.commit_patch(new_file_patch("bot.txt"), "Bot", TRAILERS, BOT)
    clone = person_clone(remote, tmp_path)
    git(clone, "checkout", "-qb", "pilot/issue-12-x")
    theirs = commit_files(clone, {"human.txt": b"mine\n"}, "Human fix")
    git(clone, "push", "-q", "origin", "pilot/issue-12-x")
    with pytest.raises(PushRejected) as rejected:
        await run.push(None)
    assert "push" in rejected.value.command
    assert git(remote, "rev-parse", "refs/heads/pilot/issue-12-x") == theirs
    run.cleanup()


async def test_invalid_branch_and_missing_base_are_errors(
    workspace: Workspace, remote: Path
) -> None:
    with pytest.raises(WorkspaceError, match="valid branch"):
        await workspace.checkout("alice/demo", str(remote), None, "main", "bad..name")
    with pytest.raises(WorkspaceError, match="no branch"):
        await workspace.checkout("alice/demo", str(remote), None, "trunk", "pilot/x")


async def test_a_failed_fetch_says_which_command_without_the_token(
    workspace: Workspace, tmp_path: Path
) -> None:
    token = "ghs_" + "s3cr3t" * 6
    with pytest.raises(WorkspaceError) as failed:
        await workspace.checkout("x/y", str(tmp_path / "nowhere.git"), token, "main", "pilot/x")
    assert "fetch" in str(failed.value) and token not in str(failed.value)


# --- over ghsim's git smart HTTP, with a real installation token ---------------------------


def files_containing(root: Path, needles: list[bytes]) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                hits.append(path)
    return hits


async def test_installation_token_over_ghsim_never_touches_disk(
    ghsim: Ghsim, tmp_path: Path
) -> None:
    name = unique("ws")
    ghsim.person("alice").rest.repos.create_for_authenticated_user(name=name, private=True)
    full_name = f"alice/{name}"
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", str(seed))
    commit_files(seed, {"README.md": b"# ws\n", "data.bin": bytes(range(256))}, "First")
    url = f"http://127.0.0.1:{ghsim.port}/{full_name}.git"
    alice = f"http://alice:ghp_sim_alice@127.0.0.1:{ghsim.port}/{full_name}.git"
    git(seed, "push", "-q", alice, "main")

    app = ghsim.app()
    installation = app.rest.apps.get_repo_installation("alice", name).parsed_data
    token = app.rest.apps.create_installation_access_token(installation.id).parsed_data.token

    workspace = Workspace(tmp_path / "cache")
    with pytest.raises(WorkspaceError):  # a private repository: no token, no fetch
        await workspace.checkout(full_name, url, None, "main", "pilot/issue-1-demo")
    run = await workspace.checkout(full_name, url, token, "main", "pilot/issue-1-demo")
    assert await run.file_at_head("README.md") == b"# ws\n"
    sha = await run.commit_patch(new_file_patch("bot.txt"), "Bot change", TRAILERS, BOT)
    with pytest.raises(WorkspaceError):  # anonymous pushes are refused
        await run.push(None)
    await run.push(token)
    branch = ghsim.person("alice").rest.repos.get_branch("alice", name, "pilot/issue-1-demo")
    assert branch.parsed_data.commit.sha == sha

    resumed = await workspace.checkout(full_name, url, token, "main", "pilot/issue-1-demo")
    assert resumed.resumed and resumed.base_sha == sha
    assert await resumed.trailers_on_branch() == [dict(TRAILERS)]

    # Someone pushes to the branch meanwhile: the run's next push must not overwrite them.
    theirs = push_files(
        ghsim, full_name, "ghp_sim_alice", "pilot/issue-1-demo", {"human.txt": "mine\n"},
        tmp_path, start="pilot/issue-1-demo",
    )  # fmt: skip
    await resumed.commit_patch(new_file_patch("bot2.txt"), "More", TRAILERS, BOT)
    with pytest.raises(PushRejected):
        await resumed.push(token)
    branch = ghsim.person("alice").rest.repos.get_branch("alice", name, "pilot/issue-1-demo")
    assert branch.parsed_data.commit.sha == theirs

    # A workflow change that reached the push anyway: GitHub's refusal, read as what it is.
    flows = await workspace.checkout(full_name, url, token, "main", "pilot/issue-2-flows")
    await flows.commit_patch(new_file_patch(".github/workflows/ci.yml"), "CI", TRAILERS, BOT)
    with pytest.raises(WorkflowChange) as refused:
        await flows.push(token)
    assert refused.value.paths == [".github/workflows/ci.yml"]
    assert token not in refused.value.stderr
    flows.cleanup()

    header = base64.b64encode(f"x-access-token:{token}".encode())
    needles = [token.encode(), header]
    assert files_containing(workspace.cache_dir, needles) == []
    tar, pack = await run.tree_tar(), await run.tree_pack()
    assert not any(needle in tar for needle in needles)
    assert not any(needle in pack for needle in needles)
    assert pack_objects(tmp_path, pack) == {
        line.split()[0]
        for line in git(run.path, "rev-list", "--objects", "--no-walk", run.head_sha).splitlines()
    }
    for checkout in (run, resumed):
        checkout.cleanup()


def test_checkout_is_exported() -> None:
    assert Checkout.__name__ == "Checkout"


@pytest.mark.parametrize("ref", ["refs/heads/main", "refs/tags/v1", "pilot/1", "refs/pilot/a..b"])
async def test_a_held_ref_must_lie_outside_branches_and_tags(
    workspace: Workspace, remote: Path, ref: str
) -> None:
    with pytest.raises(WorkspaceError, match="outside branches and tags"):
        await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/issue-1-x", ref)


async def test_held_work_is_pushed_to_its_ref_resumed_from_it_then_published(
    workspace: Workspace, remote: Path
) -> None:
    held = "refs/pilot/1"
    run = await workspace.checkout("alice/demo", str(remote), None, "main", "pilot/issue-1-x", held)
    try:
        author = ("Issue Pilot", "pilot@example.com")
        sha = await run.commit_patch(new_file_patch("a.txt"), "Add a", [], author)
        assert sha is not None
        await run.push(None)
        assert git(remote, "rev-parse", held) == sha
        assert "pilot/issue-1-x" not in git(remote, "branch", "--list")
        assert sha[:7] in await run.review_text(sha)
    finally:
        run.cleanup()
    again = await workspace.checkout(
        "alice/demo", str(remote), None, "main", "pilot/issue-1-x", held
    )
    try:
        assert again.head_sha == sha and again.resumed
        await again.publish(sha, None)
        assert await again.drop_held(None)
        assert git(remote, "rev-parse", "refs/heads/pilot/issue-1-x") == sha
        assert held not in git(remote, "for-each-ref", "--format=%(refname)")
    finally:
        again.cleanup()


async def test_node_commits_carry_each_nodes_summary_and_diff_since_the_base(
    workspace: Workspace, remote: Path, tmp_path: Path
) -> None:
    branch = "pilot/issue-12-x"
    run = await workspace.checkout("alice/demo", str(remote), None, "main", branch)
    try:
        image = bytes(range(256)) * 8
        first = patch_of(
            person_clone(remote, tmp_path), {"logo.png": image, "src/app.py": b"print('yo')\n"}
        )
        await run.commit_patch(first, "Greet\n\nSays yo now.\n\nIt: was hi.", TRAILERS, BOT)
        second = patch_of(person_clone(remote, tmp_path), {"notes.md": b"n\n"})
        await run.commit_patch(second, "Notes", [("Pilot-Node", "R2")], BOT)
        await run.push(None)
    finally:
        run.cleanup()
    # A person's commit on the branch, without trailers, and the base branch moving on.
    clone = person_clone(remote, tmp_path, branch)
    commit_files(clone, {"person.txt": b"mine\n"}, "A person's change")
    git(clone, "push", "-q", "origin", branch)
    main = person_clone(remote, tmp_path)
    commit_files(main, {"later.txt": b"later on main\n"}, "Later on main")
    git(main, "push", "-q", "origin", "main")

    again = await workspace.checkout("alice/demo", str(remote), None, "main", branch)
    try:
        r1, r2 = await again.node_commits()
        assert (r1.node, r1.subject, r1.body) == ("R1", "Greet", "Says yo now.\n\nIt: was hi.")
        assert "+print('yo')" in r1.diff and "-print('hi')" in r1.diff
        assert "Binary files /dev/null and b/logo.png differ" in r1.diff
        assert (r2.node, r2.subject, r2.body) == ("R2", "Notes", "")
        assert r2.diff.startswith("diff --git a/notes.md b/notes.md") and "+n" in r2.diff
        whole = await again.diff_against_base()
        assert "person.txt" in whole and "notes.md" in whole and "later.txt" not in whole
    finally:
        again.cleanup()
