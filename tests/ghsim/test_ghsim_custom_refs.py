"""A push to a ref outside branches and tags (the bot's held `refs/pilot/<n>`) is stored but,
as on GitHub, sends no webhook and starts no workflow run; the same commit pushed to a branch
then does both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ghsim_support import wait_until
from tests.sim_process import Ghsim, WebhookReceiver, run_git, running_ghsim, write_files

WORKFLOW = """\
name: CI
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    name: Nothing
    steps:
      - run: "true"
"""


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver().running() as hooks:
        yield hooks


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver) -> Iterator[Ghsim]:
    with running_ghsim(tmp_path_factory.mktemp("ghsim") / "data", receiver.url) as running:
        yield running


def test_a_push_to_refs_pilot_starts_nothing_until_the_commit_is_on_a_branch(
    sim: Ghsim, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    gh = sim.person("alice")
    gh.rest.repos.create_for_authenticated_user(name="held", auto_init=True)
    work = tmp_path / "held"
    url = sim.git_url("alice/held", "ghp_sim_alice")
    run_git(tmp_path, "clone", "-q", url, str(work))
    write_files(work, {".github/workflows/ci.yml": WORKFLOW, "conftest.py": "print('hi')\n"})
    run_git(work, "add", ".")
    run_git(work, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "steered")
    sha = run_git(work, "rev-parse", "HEAD").stdout.strip()
    mark = len(receiver.deliveries)

    run_git(work, "push", "-q", url, "HEAD:refs/pilot/1")

    ref = gh.rest.git.get_ref("alice", "held", "pilot/1").parsed_data
    assert ref.object_.sha == sha
    run_git(work, "push", "-q", url, "HEAD:refs/heads/pilot/issue-1-x")
    pushed = receiver.event("push", after=mark, where=lambda p: p["after"] == sha)
    assert pushed.payload["ref"] == "refs/heads/pilot/issue-1-x"
    # Deliveries keep their order per repository: one for refs/pilot/1 would have come first.
    refs = [
        d.payload.get("ref") for d in receiver.deliveries[mark:] if d.event in ("push", "create")
    ]
    assert "refs/pilot/1" not in refs and "pilot/1" not in refs

    def planned() -> list[str | None]:
        runs = gh.rest.actions.list_workflow_runs_for_repo("alice", "held", head_sha=sha)
        return [r.head_branch for r in runs.parsed_data.workflow_runs]

    assert wait_until(planned, 30, "the branch's workflow run") == ["pilot/issue-1-x"]
