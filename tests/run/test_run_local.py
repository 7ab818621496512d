"""`issue-pilot run-local` as a person runs it: the real CLI in a subprocess, a scripted model,
a real sandbox container, a local git checkout and no GitHub settings at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from bot.dev.scripted_model import ScriptedModel
from bot.run.state import run_dir_name
from tests.ghsim_support import ROOT, wait_until
from tests.run_fakes import call
from tests.services import setting, unavailable
from tests.stack_support import docker_client, leftovers

GREET = 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'
TEST_GREET = (
    "import unittest\n\nfrom greet import greet\n\n\n"
    "class GreetTest(unittest.TestCase):\n"
    "    def test_greet(self) -> None:\n"
    '        self.assertEqual(greet("Ada"), "Hello, Ada!")\n'
)
PROJECT = {
    "README.md": "# greeter\n",
    "src/app.py": "print('hi')\n",
    ".github/pilot.yml": "test: python3 -m unittest discover -q\nmax_steps: 8\n",
}
GIT_ID = ["-c", "user.name=Maintainer", "-c", "user.email=m@example.com"]


def requirement(rid: str, title: str, depends_on: list[str]) -> dict[str, Any]:
    return {
        "id": rid,
        "title": title,
        "description": title,
        "acceptance": [title],
        "depends_on": depends_on,
    }


CLI = "import sys\n\nfrom greet import greet\n\nprint(greet(sys.argv[1]))\n"
# Two requirements with code of their own: a tests-only one would be folded into R1 by the plan.
TWO_NODES = [
    call(
        "submit_plan",
        requirements=[
            requirement("R1", "Add greet()", []),
            requirement("R2", "Greet from the command line", ["R1"]),
        ],
    ),
    call("write_file", path="greet.py", content=GREET),
    call("write_file", path="test_greet.py", content=TEST_GREET),
    call("run_command", command="python3 -m unittest discover -q"),
    call("finish", summary="greet() added and tested."),
    call("write_file", path="cli.py", content=CLI),
    call("run_command", command="python3 cli.py Ada"),
    call("finish", summary="cli.py greets its argument."),
]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *GIT_ID, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"},
    )
    return done.stdout


def make_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def pilot_branches(repo: Path) -> list[str]:
    out = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/pilot/")
    return out.split()


def node_trailers(repo: Path, branch: str) -> list[tuple[str, str]]:
    """(Pilot-Issue, Pilot-Node) of each commit on `branch` not on main, oldest first."""
    fmt = "%(trailers:key=Pilot-Issue,valueonly)%x1f%(trailers:key=Pilot-Node,valueonly)%x1e"
    out = git(repo, "log", "--reverse", f"--format={fmt}", f"main..{branch}")
    found = []
    for record in out.split("\x1e"):
        if record.strip():
            issue, _, node = record.partition("\x1f")
            found.append((issue.strip(), node.strip()))
    return found


@pytest.fixture
def sandbox_image() -> str:
    client = docker_client()
    image = setting("PILOT_SANDBOX_IMAGE", "issue-pilot-sandbox:bookworm-1")
    assert image is not None
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        unavailable(f"the sandbox image {image}")
    finally:
        client.close()
    return image


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as started:
        yield started


@pytest.fixture
def cli_env(model: ScriptedModel, sandbox_image: str, tmp_path: Path) -> dict[str, str]:
    """Only what run-local needs: the model, the sandbox and two directories. No GitHub."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PILOT_")}
    env.update(
        PILOT_LLM_BASE_URL=model.base_url,
        PILOT_LLM_MODEL="scripted",
        PILOT_LLM_API_KEY="scripted",
        PILOT_LLM_MAX_TRIES="1",
        PILOT_RUNS_DIR=str(tmp_path / "runs"),
        PILOT_CACHE_DIR=str(tmp_path / "cache"),
        PILOT_SANDBOX_IMAGE=sandbox_image,
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    docker_host = setting("DOCKER_HOST")
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    assert not [k for k in env if "GITHUB" in k and k.startswith("PILOT_")]
    return env


def run_local(
    env: dict[str, str], repo: Path, issue_file: Path, number: int | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "bot.cli", "run-local", "--repo", str(repo)]
    argv += ["--issue-file", str(issue_file)]
    if number is not None:
        argv += ["--issue-number", str(number)]
    # Run from the issue's directory, so no `.env` of the project's checkout is read.
    return subprocess.run(
        argv, cwd=issue_file.parent, env=env, capture_output=True, text=True, timeout=120
    )


def no_leftovers(repo: Path, number: int) -> None:
    client = docker_client()
    try:
        label = run_dir_name(f"local/{repo.name}", number)
        wait_until(lambda: not leftovers(client, label), 20, "the sandbox to be removed")
    finally:
        client.close()


def test_run_local_leaves_a_branch_and_pull_request_text(
    model: ScriptedModel, cli_env: dict[str, str], tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "greeter", PROJECT)
    main_sha = git(repo, "rev-parse", "main").strip()
    issue_file = tmp_path / "issue.md"
    issue_file.write_text("# Greet people by name\n\nWe need a greet(name) function.\n")
    model.set_script(TWO_NODES)

    done = run_local(cli_env, repo, issue_file, 7)

    assert done.returncode == 0, done.stdout + done.stderr
    branch = "pilot/issue-7-greet-people-by-name"
    assert pilot_branches(repo) == [branch]
    assert node_trailers(repo, branch) == [("#7", "R1"), ("#7", "R2")]
    assert git(repo, "show", f"{branch}:greet.py") == GREET
    assert git(repo, "show", f"{branch}:test_greet.py") == TEST_GREET
    assert git(repo, "show", f"{branch}:cli.py") == CLI
    authors = git(repo, "log", "--format=%an", f"main..{branch}").split("\n")
    assert all(a.endswith("[bot]") for a in authors if a)
    # The person's checkout is as it was: same branch, same tip, clean tree, no new files.
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(repo, "rev-parse", "main").strip() == main_sha
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (repo / "greet.py").exists()

    run_dir = Path(cli_env["PILOT_RUNS_DIR"]) / run_dir_name(f"local/{repo.name}", 7)
    pull_text = (run_dir / "pull_request.md").read_text()
    assert "Closes #7" in pull_text
    assert "- [x] **R1**" in pull_text and "- [x] **R2**" in pull_text
    assert json.loads((run_dir / "state.json").read_text())["phase"] == "await_ci"
    assert (run_dir / "trajectory.jsonl").exists()
    for shown in ("== plan ==", "== execute ==", "R1", "R2", f"Branch `{branch}` is ready"):
        assert shown in done.stdout, done.stdout
    assert str(run_dir / "pull_request.md") in done.stdout
    assert "run ended in phase await_ci" in done.stdout
    assert len(model.requests()) == len(TWO_NODES)
    no_leftovers(repo, 7)

    # Again: the run rests, so nothing new happens and the model is not asked anything.
    head = git(repo, "rev-parse", branch).strip()
    model.set_script([])
    again = run_local(cli_env, repo, issue_file, 7)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "run ended in phase await_ci" in again.stdout
    assert git(repo, "rev-parse", branch).strip() == head
    assert len(node_trailers(repo, branch)) == 2
    assert pilot_branches(repo) == [branch]
    assert model.requests() == []
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_run_local_reads_a_json_issue(
    model: ScriptedModel, cli_env: dict[str, str], tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "tool", {"README.md": "# tool\n", "tool.py": "X = 1\n"})
    issue_file = tmp_path / "issue.json"
    issue = {"number": 12, "title": "Add a VERSION file", "body": "Write VERSION with 1.0."}
    issue_file.write_text(json.dumps(issue))
    model.set_script(
        [
            call("submit_plan", requirements=[requirement("V1", "Add VERSION", [])]),
            call("write_file", path="VERSION", content="1.0\n"),
            call("finish", summary="VERSION added."),
        ]
    )

    done = run_local(cli_env, repo, issue_file)  # the number comes from the file

    assert done.returncode == 0, done.stdout + done.stderr
    branch = "pilot/issue-12-add-a-version-file"
    assert pilot_branches(repo) == [branch]
    assert node_trailers(repo, branch) == [("#12", "V1")]
    assert git(repo, "show", f"{branch}:VERSION") == "1.0\n"
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    run_dir = Path(cli_env["PILOT_RUNS_DIR"]) / run_dir_name(f"local/{repo.name}", 12)
    assert "Closes #12" in (run_dir / "pull_request.md").read_text()
    assert "run ended in phase await_ci" in done.stdout
    no_leftovers(repo, 12)


def test_run_local_refuses_an_invalid_config(
    model: ScriptedModel, cli_env: dict[str, str], tmp_path: Path
) -> None:
    config = "test: python3 -m unittest\nmax_steps: lots\n"
    repo = make_repo(tmp_path / "broken", {"README.md": "# broken\n", ".github/pilot.yml": config})
    issue_file = tmp_path / "issue.md"
    issue_file.write_text("Do something\n\nAnything.\n")
    model.set_script(TWO_NODES)

    done = run_local(cli_env, repo, issue_file, 3)

    assert done.returncode != 0, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert ".github/pilot.yml" in said
    assert "line 2" in said and "`max_steps`" in said, said
    assert "run ended in phase failed" in done.stdout
    assert pilot_branches(repo) == []
    assert model.requests() == []
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    no_leftovers(repo, 3)
