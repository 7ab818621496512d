"""Checks and statuses through githubkit: every endpoint, and the webhooks shaped like GitHub's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.ghsim.test_ghsim_ci import _docker_or_unavailable, _new_repo, _push, instance_label
from tests.ghsim.test_ghsim_webhooks import (
    assert_shaped_like_github,
    for_repo,
    key_differences,
    recorded,
)
from tests.ghsim_support import Delivery, Ghsim, unique
from tests.sim_process import Ghsim as GhsimInstance
from tests.sim_process import WebhookReceiver, running_ghsim

WORKFLOW = """\
name: Shapes
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    name: Build
    steps:
      - uses: actions/checkout@v4
      - run: echo built
"""


def _repo(ghsim: Ghsim) -> tuple[str, str, str]:
    owner, name = unique("owner"), unique("repo")
    ghsim.person(owner).rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    sha = ghsim.person(owner).rest.repos.get_branch(owner, name, "main").parsed_data.commit.sha
    return owner, name, sha


def test_commit_statuses(ghsim: Ghsim) -> None:
    owner, name, sha = _repo(ghsim)
    gh = ghsim.person(owner)
    made = gh.rest.repos.create_commit_status(
        owner, name, sha, state="pending", context="ci/a", description="waiting"
    ).parsed_data
    assert (made.state, made.context, made.description) == ("pending", "ci/a", "waiting")
    assert made.creator is not None and made.creator.login == owner
    gh.rest.repos.create_commit_status(owner, name, sha, state="success", context="ci/a")
    gh.rest.repos.create_commit_status(
        owner, name, sha, state="failure", context="ci/b", target_url="http://ci.example/1"
    )
    listed = gh.rest.repos.list_commit_statuses_for_ref(owner, name, "main").parsed_data
    assert [(s.context, s.state) for s in listed] == [
        ("ci/b", "failure"),
        ("ci/a", "success"),
        ("ci/a", "pending"),
    ]
    combined = gh.rest.repos.get_combined_status_for_ref(owner, name, sha).parsed_data
    assert (combined.state, combined.sha, combined.total_count) == ("failure", sha, 2)
    assert sorted((s.context, s.state) for s in combined.statuses) == [
        ("ci/a", "success"),
        ("ci/b", "failure"),
    ]
    assert combined.repository.full_name == f"{owner}/{name}"

    delivery = ghsim.receiver.wait_for(
        "status", None, lambda p: for_repo(f"{owner}/{name}")(p) and p["context"] == "ci/b"
    )
    assert_shaped_like_github(delivery)
    payload = delivery.payload
    assert (payload["sha"], payload["state"], payload["target_url"]) == (
        sha,
        "failure",
        "http://ci.example/1",
    )
    assert [b["name"] for b in payload["branches"]] == ["main"]


def test_check_runs_of_an_app(ghsim: Ghsim) -> None:
    owner, name, sha = _repo(ghsim)
    full = f"{owner}/{name}"
    bot, gh = ghsim.installation(), ghsim.person(owner)
    lint = bot.rest.checks.create(owner, name, name="lint", head_sha=sha).parsed_data
    assert (lint.status, lint.conclusion, lint.head_sha) == ("queued", None, sha)
    tests = bot.rest.checks.create(
        owner,
        name,
        name="tests",
        head_sha="main",
        status="in_progress",
        external_id="ext-1",
        output={"title": "Running", "summary": "started"},
    ).parsed_data
    assert tests.check_suite is not None and lint.check_suite is not None
    assert tests.check_suite.id == lint.check_suite.id
    assert tests.output.title == "Running" and tests.external_id == "ext-1"

    done = bot.rest.checks.update(
        owner, name, tests.id, conclusion="failure", output={"title": "1 failed", "summary": "x"}
    ).parsed_data
    assert (done.status, done.conclusion, done.output.title) == ("completed", "failure", "1 failed")
    assert done.completed_at is not None
    got = gh.rest.checks.get(owner, name, tests.id).parsed_data
    assert (got.id, got.name, got.conclusion, got.output.summary) == (
        tests.id,
        "tests",
        "failure",
        "x",
    )

    suite = gh.rest.checks.get_suite(owner, name, lint.check_suite.id).parsed_data
    assert (suite.status, suite.head_sha, suite.latest_check_runs_count) == ("in_progress", sha, 2)
    assert suite.app is not None and suite.app.slug == ghsim.app_info["slug"]
    in_suite = gh.rest.checks.list_for_suite(owner, name, suite.id).parsed_data
    assert (in_suite.total_count, [r.name for r in in_suite.check_runs]) == (2, ["tests", "lint"])
    only = gh.rest.checks.list_for_suite(owner, name, suite.id, check_name="lint").parsed_data
    assert [r.id for r in only.check_runs] == [lint.id]

    for ref in ("main", sha):
        runs = gh.rest.checks.list_for_ref(owner, name, ref).parsed_data
        assert [r.name for r in runs.check_runs] == ["tests", "lint"]
    queued = gh.rest.checks.list_for_ref(owner, name, sha, status="queued").parsed_data
    assert [r.name for r in queued.check_runs] == ["lint"]
    named = gh.rest.checks.list_for_ref(owner, name, sha, check_name="tests", filter_="all")
    assert [r.id for r in named.parsed_data.check_runs] == [tests.id]
    suites = gh.rest.checks.list_suites_for_ref(owner, name, "main").parsed_data
    assert [s.id for s in suites.check_suites] == [suite.id]

    bot.rest.checks.update(owner, name, lint.id, status="completed", conclusion="success")
    completed = ghsim.receiver.wait_for("check_suite", "completed", for_repo(full))
    assert completed.payload["check_suite"]["conclusion"] == "failure"
    assert gh.rest.checks.get_suite(owner, name, suite.id).parsed_data.status == "completed"
    assert_ci_shapes(completed)
    for action in ("created", "completed"):
        assert_ci_shapes(ghsim.receiver.wait_for("check_run", action, for_repo(full)))


# Where ghsim's payloads may differ from the recorded ones: GitHub puts `deployment` in a
# check run's suite only for suites a deployment started (ghsim has none); an app's
# `permissions` name what that app asked for; the recordings predate the `slug`,
# `client_id` and `installations_count` keys GitHub now sends for apps.
ALLOWED = {".check_run.check_suite.deployment missing"}
NEWER_APP_KEYS = ("slug", "client_id", "installations_count")


def _allowed(problem: str) -> bool:
    path, what = problem.rsplit(" ", 1)
    if problem in ALLOWED or ".app.permissions." in path:
        return True
    return ".app." in path and path.rsplit(".", 1)[1] in NEWER_APP_KEYS and what == "extra"


def assert_ci_shapes(delivery: Delivery, recorded_as: str | None = None) -> None:
    """Compare with the recorded payload of this event and action (or `recorded_as`)."""
    ours = delivery.payload
    theirs = recorded(delivery.event, recorded_as or delivery.action)
    top = {"installation", "organization"}
    assert ours.keys() - top == theirs.keys() - top, delivery.event
    main = [k for k in ours.keys() & theirs.keys() if k not in top]
    problems = [
        p
        for p in key_differences({k: ours[k] for k in main}, {k: theirs[k] for k in main})
        if not _allowed(p)
    ]
    assert problems == [], "\n".join([delivery.event, str(delivery.action), *sorted(problems)])


@pytest.fixture(scope="module")
def ci_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GhsimInstance, Any]]:
    client: docker.DockerClient = _docker_or_unavailable()
    with (
        WebhookReceiver().running() as receiver,
        running_ghsim(tmp_path_factory.mktemp("ghsim") / "data", receiver.url) as sim,
    ):
        yield sim, receiver
    label = instance_label(sim.data_dir)
    assert client.containers.list(all=True, filters={"label": label}) == []
    client.close()


def test_ci_webhooks_have_the_recorded_key_sets(
    ci_sim: tuple[GhsimInstance, WebhookReceiver], tmp_path: Path
) -> None:
    sim, receiver = ci_sim
    work = _new_repo(sim, tmp_path, "shapes")
    sha = _push(sim, work, {".github/workflows/ci.yml": WORKFLOW}, "CI")
    receiver.event(
        "check_suite", "completed", timeout=60, where=lambda p: p["check_suite"]["head_sha"] == sha
    )
    expected = [
        ("workflow_run", "requested", None),
        ("workflow_job", "queued", None),
        ("workflow_job", "in_progress", None),
        # No recorded `completed` job: it has the keys of `in_progress`.
        ("workflow_job", "completed", "in_progress"),
        ("workflow_run", "completed", None),
        ("check_run", "created", None),
        ("check_run", "completed", None),
        ("check_suite", "completed", None),
    ]
    for event, action, recorded_as in expected:
        delivery = receiver.event(event, action, timeout=30)
        assert_ci_shapes(delivery, recorded_as)
