"""Which events start a workflow, as GitHub decides it: branch, path and type filters with
their `!` patterns in order, tag-only pushes, and the schema's keys (an unknown one refuses the
file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghsim.ci.patterns import matches
from ghsim.ci.workflow import Trigger, WorkflowError, parse_workflow
from tests.ghsim_support import Ghsim, push_files, unique

JOB = "jobs:\n  t:\n    runs-on: x\n    steps:\n      - run: 'true'\n"


def trigger(on: str, event: str = "push") -> Trigger:
    return parse_workflow("w.yml", f"on:\n{on}\n{JOB}").triggers[event]


def test_branch_patterns_apply_in_order_with_negations() -> None:
    only = trigger(
        "  push:\n    branches: ['releases/**', '!releases/**-alpha', 'releases/x-alpha']"
    )
    assert only.matches("releases/1.0")
    assert not only.matches("releases/1.0-alpha")
    assert only.matches("releases/x-alpha")  # included again by the later pattern
    assert not only.matches("main")
    ignored = trigger("  push:\n    branches-ignore: ['wip/*']")
    assert ignored.matches("main") and not ignored.matches("wip/a")
    assert ignored.matches("wip/a/b")  # `*` stops at `/`


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        ("*.jsx?", ["page.js", "page.jsx"], ["page.jsxx", "a/page.js"]),
        ("v[12].[0-9]+.[0-9]+", ["v1.10.2", "v2.0.0"], ["v3.0.0", "v1.x.0", "v1..0"]),
        ("**/README.md", ["README.md", "a/b/README.md"], ["README.mdx"]),
        ("docs/**/*.md", ["docs/README.md", "docs/a/b.md"], ["docs/a/b.txt", "other/docs/a.md"]),
        ("**/docs/**", ["docs/hello.md", "a/docs/b/c"], ["documents/x"]),
        ("feature/*", ["feature/a"], ["feature/a/b", "feature"]),
        ("a\\*b", ["a*b"], ["axb"]),
    ],
)
def test_githubs_pattern_cheat_sheet(pattern: str, yes: list[str], no: list[str]) -> None:
    assert [name for name in yes + no if matches(pattern, name)] == yes


def test_path_filters_read_the_first_300_changed_files() -> None:
    docs = trigger("  push:\n    paths: ['src/**', '!src/**/*.md']")
    assert docs.matches("main", changed=["README.md", "src/a/b.py"])
    assert not docs.matches("main", changed=["README.md", "src/a/notes.md"])
    assert not docs.matches("main", changed=["src/notes.md"])  # `**/` matches no directory
    assert not docs.matches("main", changed=[])
    late = [f"a/{n:04}" for n in range(300)] + ["src/late.py"]
    assert not docs.matches("main", changed=late)
    skip_docs = trigger("  push:\n    paths-ignore: ['docs/**']")
    assert not skip_docs.matches("main", changed=["docs/a.md"])
    assert skip_docs.matches("main", changed=["docs/a.md", "setup.py"])


def test_types_and_tag_only_pushes() -> None:
    opened = trigger("  pull_request:\n    types: [opened]", "pull_request")
    assert opened.matches("main", "opened") and not opened.matches("main", "synchronize")
    default = trigger("  pull_request:", "pull_request")
    assert default.matches("main", "reopened") and not default.matches("main", "labeled")
    assert trigger("  pull_request:\n    types: [labeled]", "pull_request").matches(
        "main", "labeled"
    )
    assert not trigger("  push:\n    tags: ['v*']").matches("main")
    assert trigger("  push:\n    tags: ['v*']\n    branches: [main]").matches("main")


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        (f"on: push\nname: x\nfoo: 1\n{JOB}", "the workflow: Unexpected value 'foo'"),
        ("on:\n  push:\n    paths: [a]\n    paths-ignore: [b]\n" + JOB, "both the paths and"),
        ("on:\n  push:\n    tags: [a]\n    tags-ignore: [b]\n" + JOB, "both the tags and"),
        ("on: push\n" + JOB.replace("runs-on: x", "runs-on: x\n    runs_on: y"), "'runs_on'"),
        ("on: push\n" + JOB.replace("runs-on: x", "runs-on: []"), "at least one label"),
        ("on: push\n" + JOB.replace("- run: 'true'", "- run: 'true'\n        args: x"), "'args'"),
        (
            "on: push\n" + JOB.replace("- run: 'true'", "- run: 'true'\n        with: {a: 1}"),
            "'with'",
        ),
        (
            "on: push\n" + JOB.replace("- run: 'true'", "- uses: a/b@v1\n        shell: sh"),
            "'shell'",
        ),
        ("on: push\n" + JOB.replace("runs-on: x", "runs-on: x\n    strategy: {fast: 1}"), "'fast'"),
        ("on: push\n" + JOB.replace("runs-on: x", "runs-on: x\n    defaults: {sh: 1}"), "'sh'"),
        (
            "on: push\njobs:\n  c:\n    uses: o/r/.github/workflows/w.yml@v1\n    steps: []\n",
            "'steps'",
        ),
    ],
)
def test_keys_outside_githubs_schema_refuse_the_file(text: str, refusal: str) -> None:
    with pytest.raises(WorkflowError, match=refusal):
        parse_workflow("w.yml", text)


def test_unknown_filter_keys_are_ignored_as_github_ignores_them() -> None:
    # A typo in a filter (`path:` for `paths:`) runs the workflow on every push.
    typo = trigger("  push:\n    path: ['src/**']")
    assert typo.matches("main", changed=["README.md"])


def test_the_workflows_defaults_reach_its_jobs() -> None:
    text = "on: push\ndefaults:\n  run:\n    working-directory: app\n" + JOB
    assert parse_workflow("w.yml", text).jobs[0].working_directory == "app"
    own = text.replace("runs-on: x", "runs-on: x\n    defaults: {run: {working-directory: lib}}")
    assert parse_workflow("w.yml", own).jobs[0].working_directory == "lib"


def _runs(ghsim: Ghsim, owner: str, name: str, sha: str) -> list[str]:
    found = ghsim.person(owner).rest.actions.list_workflow_runs_for_repo(owner, name, head_sha=sha)
    return sorted(r["path"] for r in found.json()["workflow_runs"])


def test_pushes_and_pull_requests_start_only_what_their_filters_allow(
    ghsim: Ghsim, tmp_path: Path
) -> None:
    owner, name = unique("flt"), unique("repo")
    person = ghsim.person(owner)
    person.rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    token, full = f"ghp_sim_{owner}", f"{owner}/{name}"

    def push(branch: str, path: str, start: str = "main") -> str:
        files = {path: f"{branch} {path}\n"}
        return push_files(ghsim, full, token, branch, files, tmp_path, start=start)

    def planned(sha: str) -> None:
        # ghsim plans events one at a time, in order: once this push's run is announced,
        # every earlier event has been planned.
        ghsim.receiver.wait_for(
            "workflow_run", "requested", lambda p: p["workflow_run"]["head_sha"] == sha
        )

    workflows = {
        ".github/workflows/src.yml": "on:\n  push:\n    paths: ['src/**']\n" + JOB,
        ".github/workflows/opened.yml": "on:\n  pull_request:\n    types: [opened]\n" + JOB,
        ".github/workflows/pr-src.yml": "on:\n  pull_request:\n    paths: ['src/**']\n" + JOB,
        ".github/workflows/tags.yml": "on:\n  push:\n    tags: ['v*']\n" + JOB,
        ".github/workflows/labeled.yml": "on:\n  pull_request:\n    types: [labeled]\n" + JOB,
    }
    # Over main's first commit: the diff holds only the workflow files.
    first = push_files(ghsim, full, token, "main", workflows, tmp_path)
    docs = push("main", "docs/a.md")
    code = push("main", "src/a.py")
    # A new branch is compared with the parent of its deepest new commit.
    topic = push("topic", "src/b.py")
    # Branched from `topic`: its one new commit touches docs only, though `topic`'s src/ change
    # is not on main.
    topic2 = push("topic2", "docs/t.md", start="topic")
    planned(topic)
    later = push("main", "src/sentinel-1.py")
    planned(later)
    assert _runs(ghsim, owner, name, first) == []
    assert _runs(ghsim, owner, name, docs) == []
    assert _runs(ghsim, owner, name, code) == [".github/workflows/src.yml"]
    assert _runs(ghsim, owner, name, topic) == [".github/workflows/src.yml"]
    assert _runs(ghsim, owner, name, topic2) == []

    # A pull request's paths are read from where it left its base: main's src/ change after
    # the branch was made is not the pull request's.
    notes = push("notes", "docs/n.md")
    moved = push("main", "src/c.py")
    planned(moved)
    pull = person.rest.pulls.create(owner, name, title="t", head="notes", base="main").json()
    planned(notes)
    person.rest.issues.add_labels(owner, name, pull["number"], labels=["ready"])
    ghsim.receiver.wait_for(
        "workflow_run",
        "requested",
        lambda p: p["workflow_run"]["path"] == ".github/workflows/labeled.yml",
    )
    # Its synchronize runs neither pull request workflow: not `opened`, and no src/ change.
    more = push("notes", "docs/m.md", start="notes")
    ghsim.receiver.wait_for(
        "pull_request", "synchronize", lambda p: p["pull_request"]["number"] == pull["number"]
    )
    last = push("main", "src/sentinel-2.py")
    planned(last)
    assert _runs(ghsim, owner, name, notes) == [
        ".github/workflows/labeled.yml",
        ".github/workflows/opened.yml",
    ]
    assert _runs(ghsim, owner, name, more) == []
