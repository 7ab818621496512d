"""The finish gate (bot/agent/finish_gate.py): its decisions on what it gathered, what it asks
the sandbox, the scratch files it removes, and base_tests.sh run for real in a git workspace the
way the sandbox runs it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.agent.finish_gate import (
    GATE_TIMEOUT_S,
    Change,
    FinishGate,
    Gathered,
    is_scratch,
    parse_status,
    scratch_note,
)
from bot.sandbox import scripts
from bot.sandbox.api import CommandResult
from bot.sandbox.scripts import base_tests_line
from tests.agent.test_agent import FakeSandbox
from tests.sandbox.test_scripts import git, make_tar, run

DIFF = (
    "diff --git a/greet.py b/greet.py\n--- a/greet.py\n+++ b/greet.py\n"
    "@@ -1,2 +1,2 @@\n def greet():\n-    return 'hello'\n+    return 'hi'\n"
)
WEAKENING = (
    "diff --git a/tests/test_greet.py b/tests/test_greet.py\n"
    "--- a/tests/test_greet.py\n+++ b/tests/test_greet.py\n"
    "@@ -1,3 +1,2 @@\n def test_greet():\n-    assert greet() == 'hi'\n+    pass\n"
)
CHANGED = (Change(" M", "greet.py"),)


def result(exit_code: int | None, output: str = "", timed_out: bool = False) -> CommandResult:
    return CommandResult("pytest -q", exit_code, output, timed_out, 1.0, len(output))


def gate() -> FinishGate:
    return FinishGate(FakeSandbox(), "pytest -q")


# review: the decision on what was gathered ------------------------------------------------------
def test_a_good_finish_passes() -> None:
    seen = Gathered(CHANGED, DIFF, DIFF, result(0, "3 passed"), result(0))
    finish_gate = gate()
    assert finish_gate.review(seen) is None
    assert finish_gate.refused == set()
    assert finish_gate.review(Gathered(CHANGED, DIFF, DIFF)) is None  # no test command run


def test_nothing_changed_is_refused_once() -> None:
    finish_gate = gate()
    said = finish_gate.review(Gathered((), "", ""))
    assert said is not None and said.startswith("Not finished: you have not changed any file")
    assert finish_gate.refused == {"unchanged"}
    assert finish_gate.review(Gathered((), "", "")) is None


def test_weakened_tests_are_refused_once_with_the_findings_and_diff() -> None:
    finish_gate = gate()
    seen = Gathered((Change(" M", "tests/test_greet.py"),), WEAKENING, WEAKENING, result(0))
    said = finish_gate.review(seen)
    assert said is not None
    assert said.startswith("Not finished: your change weakens the repository's existing tests:")
    assert "- tests/test_greet.py: 1 assertion line(s) removed, 0 added" in said
    assert "-    assert greet() == 'hi'" in said and "```diff" in said
    assert finish_gate.refused == {"weakened"} and finish_gate.review(seen) is None


def test_the_session_diff_decides_weakening_not_this_nodes_diff() -> None:
    # An earlier node removed the assertion; this node's own diff is innocent.
    said = gate().review(Gathered(CHANGED, DIFF, DIFF + WEAKENING, result(0)))
    assert said is not None and "weakens" in said


@pytest.mark.parametrize(
    "tests",
    [result(1, "1 failed in 0.2s"), result(None, "", timed_out=True), result(2, "usage error")],
)
def test_a_failing_test_command_is_refused_once_with_its_output(tests: CommandResult) -> None:
    finish_gate = gate()
    said = finish_gate.review(Gathered(CHANGED, DIFF, DIFF, tests))
    assert said is not None
    assert said.startswith("Not finished: the test command `pytest -q` fails on your change:")
    assert (tests.output or "(no output)") in said and "+    return 'hi'" in said
    assert finish_gate.refused == {"tests"}
    assert finish_gate.review(Gathered(CHANGED, DIFF, DIFF, tests)) is None


def test_base_tests_failing_is_refused_once() -> None:
    finish_gate = gate()
    seen = Gathered(CHANGED, DIFF, DIFF, result(0), result(1, "AssertionError: 'hi'"))
    said = finish_gate.review(seen)
    assert said is not None and "AssertionError: 'hi'" in said
    assert said.startswith("Not finished: your change passes the tests as you left them")
    assert finish_gate.refused == {"base_tests"} and finish_gate.review(seen) is None


def test_one_reason_at_a_time_in_order() -> None:
    finish_gate = gate()
    seen = Gathered(CHANGED, DIFF, WEAKENING, result(1, "boom"), None)
    first, second = finish_gate.review(seen), finish_gate.review(seen)
    assert first is not None and "weakens" in first
    assert second is not None and "fails on your change" in second
    assert finish_gate.review(seen) is None
    assert finish_gate.refused == {"weakened", "tests"}


# parse_status and scratch files ------------------------------------------------------------------
def test_parse_status() -> None:
    output = (
        " M greet.py\n?? repro.py\n D old.py\nR  a.py -> b/c.py\nA  new file.txt\n"
        'MM both.py\n?? "wei\\"rd.py"\n\nbad\n'
    )
    assert parse_status(output) == [
        Change(" M", "greet.py"),
        Change("??", "repro.py"),
        Change(" D", "old.py"),
        Change("R ", "b/c.py"),
        Change("A ", "new file.txt"),
        Change("MM", "both.py"),
        Change("??", 'wei\\"rd.py'),
    ]
    assert [c.new for c in parse_status("?? a\n M b\nA  c\n")] == [True, False, False]


@pytest.mark.parametrize(
    "path",
    [
        "repro.py", "reproduce_bug.py", "scratch.txt", "debug.txt", "tmp.py", "temp-1.json",
        "try.sh", "test_output.txt", "output.txt", "REPRO.PY", "out.log", "src/app.py.orig",
        "src/app.py.rej", "b/c.bak", "x/y.tmp",
    ],
)  # fmt: skip
def test_scratch_names(path: str) -> None:
    assert is_scratch(Change("??", path), ())


@pytest.mark.parametrize(
    "path",
    [
        "reproducer.py", "debugger.py", "outputs.py", "greet.py", "src/pkg/debug.py",
        "app/output.py", "tests/repro.py", "logs.py", "catalog.txt",
    ],
)  # fmt: skip
def test_work_names(path: str) -> None:
    assert not is_scratch(Change("??", path), ())


def test_tracked_and_kept_files_are_not_scratch() -> None:
    assert not is_scratch(Change(" M", "repro.py"), ())
    assert not is_scratch(Change(" M", "server.log"), ())
    assert not is_scratch(Change("??", "repro.py"), ["repro.py"])
    assert not is_scratch(Change("??", "repro.py"), ["./repro.py"])
    assert not is_scratch(Change("??", "logs/run.log"), ["/workspace/logs/run.log"])
    assert is_scratch(Change("??", "repro.py"), ["debug.txt"])


def test_scratch_note() -> None:
    assert scratch_note([]) == ""
    assert scratch_note(["a.log", "repro.py"]) == "Removed scratch files: a.log, repro.py"


# inspect and remove_scratch, against the fake sandbox's git --------------------------------------
TEST_FILE = b"def test_greet():\n    assert greet() == 'hello'\n"


async def test_inspect_runs_the_tests_only_on_a_change() -> None:
    sandbox = FakeSandbox({"greet.py": b"x\n"})
    sandbox.files["repro.py"] = b"print(1)\n"
    seen = await FinishGate(sandbox, "pytest -q").inspect((), 900)
    assert seen.changes == () and seen.tests is None
    assert "pytest -q" not in [c for c, _ in sandbox.commands]
    kept = await FinishGate(sandbox, "pytest -q").inspect(["repro.py"], 900)
    assert kept.changes == (Change("??", "repro.py"),)
    assert kept.tests is not None and kept.tests.exit_code == 0
    assert sandbox.commands[-1] == ("pytest -q", GATE_TIMEOUT_S)


async def test_inspect_runs_the_base_tests_for_changed_test_files_only() -> None:
    sandbox = FakeSandbox({"greet.py": b"x\n", "tests/test_greet.py": TEST_FILE})
    sandbox.files["tests/test_greet.py"] = TEST_FILE.replace(b"hello", b"hi")
    sandbox.files["tests/test_new.py"] = b"def test_new():\n    pass\n"
    seen = await FinishGate(sandbox, "pytest -q").inspect((), 20)
    assert [c.path for c in seen.changes] == ["tests/test_greet.py", "tests/test_new.py"]
    assert "-    assert greet() == 'hello'" in seen.diff and seen.diff == seen.session_diff
    line = base_tests_line("pytest -q", ["tests/test_greet.py"])
    assert seen.base_tests is not None and sandbox.commands[-1] == (line, 20)


async def test_inspect_skips_the_base_tests_when_the_tests_fail() -> None:
    sandbox = FakeSandbox({"tests/test_greet.py": TEST_FILE}, {"pytest -q": 1})
    sandbox.files["tests/test_greet.py"] = b"def test_greet():\n    pass\n"
    seen = await FinishGate(sandbox, "pytest -q").inspect((), 900)
    assert seen.tests is not None and seen.tests.exit_code == 1 and seen.base_tests is None


async def test_inspect_runs_no_tests_already_refused() -> None:
    sandbox = FakeSandbox({"tests/test_greet.py": TEST_FILE})
    sandbox.files["tests/test_greet.py"] = b"def test_greet():\n    pass\n"
    finish_gate = FinishGate(sandbox, "pytest -q", refused={"base_tests"})
    seen = await finish_gate.inspect((), 900)
    assert seen.tests is not None and seen.base_tests is None
    finish_gate.refused.add("tests")
    assert (await finish_gate.inspect((), 900)).tests is None
    assert (await FinishGate(sandbox, None).inspect((), 900)).tests is None


async def test_remove_scratch_removes_new_scratch_files_not_kept() -> None:
    sandbox = FakeSandbox({"greet.py": b"x\n", "tracked.log": b"old\n"})
    new = {"repro.py", "debug.txt", "it's.log", "greet_test.py", "src/debug.py", "notes.tmp"}
    sandbox.files |= {path: b"1\n" for path in new}
    sandbox.files["tracked.log"] = b"new\n"
    gone = await FinishGate(sandbox, "pytest -q").remove_scratch(["notes.tmp"])
    assert gone == ["debug.txt", "it's.log", "repro.py"]
    assert sorted(sandbox.files) == [
        "greet.py", "greet_test.py", "notes.tmp", "src/debug.py", "tracked.log",
    ]  # fmt: skip
    before = len(sandbox.commands)
    assert await FinishGate(sandbox, "pytest -q").remove_scratch(["notes.tmp"]) == []
    assert len(sandbox.commands) == before + 1  # the status only, no `rm`


# base_tests.sh, run by the same command line the sandbox sends -----------------------------------
CHECK = "#!/bin/sh\ngrep -qx hello greet.txt\n"


def workspace(root: Path, tree: dict[str, bytes]) -> str:
    filled = run(scripts.fill_command(with_tar=True, root=str(root)), make_tar(tree, {}))
    assert filled.returncode == 0, filled.stderr
    return filled.stdout.decode().split()[-1]


def base_tests(root: Path, command: str, paths: list[str]) -> tuple[int, str]:
    done = run(scripts.run_command(base_tests_line(command, paths), 30.0), cwd=root)
    return done.returncode, done.stdout.decode()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "work space"  # a space: the paths must reach git quoted
    path.mkdir()
    return path.resolve()


def test_base_tests_run_the_bases_tests_and_put_the_agents_back(root: Path) -> None:
    workspace(root, {"greet.txt": b"hello\n", "tests/check.sh": CHECK.encode()})
    (root / "greet.txt").write_text("hi\n")
    agents = CHECK.replace("hello", "hi")
    (root / "tests/check.sh").write_text(agents)
    os.chmod(root / "tests/check.sh", 0o755)
    assert run(["sh", "tests/check.sh"], cwd=root).returncode == 0  # the agent's own tests pass

    code, output = base_tests(root, "sh tests/check.sh && echo passed", ["tests/check.sh"])
    assert (code, output) == (1, "")
    assert (root / "tests/check.sh").read_text() == agents
    assert os.stat(root / "tests/check.sh").st_mode & 0o777 == 0o755
    assert git(root, "status", "--porcelain") == " M greet.txt\n M tests/check.sh\n"


def test_base_tests_pass_when_the_code_is_fixed(root: Path) -> None:
    workspace(root, {"greet.txt": b"helo\n", "tests/check.sh": CHECK.encode()})
    (root / "greet.txt").write_text("hello\n")
    (root / "tests/check.sh").write_text("#!/bin/sh\ntrue\n")
    code, output = base_tests(root, "sh tests/check.sh && echo passed", ["tests/check.sh"])
    assert (code, output) == (0, "passed\n")
    assert (root / "tests/check.sh").read_text() == "#!/bin/sh\ntrue\n"


def test_base_tests_use_the_session_base_not_the_last_checkpoint(root: Path) -> None:
    base = workspace(root, {"greet.txt": b"hello\n", "tests/check.sh": CHECK.encode()})
    (root / "tests/check.sh").write_text("#!/bin/sh\ntrue\n")
    done = run(scripts.take_patch_command(base, root=str(root)))  # an earlier node's checkpoint
    assert done.returncode == 0, done.stderr
    (root / "greet.txt").write_text("hi\n")
    (root / "tests/check.sh").write_text("#!/bin/sh\ntrue # still\n")
    code, _ = base_tests(root, "sh tests/check.sh", ["tests/check.sh"])
    assert code == 1
    assert git(root, "status", "--porcelain") == " M greet.txt\n M tests/check.sh\n"


def test_a_deleted_test_file_is_run_and_deleted_again(root: Path) -> None:
    workspace(root, {"greet.txt": b"hi\n", "tests/check.sh": CHECK.encode(), "x y.sh": b"true\n"})
    (root / "tests/check.sh").unlink()
    (root / "x y.sh").write_text("false\n")
    code, _ = base_tests(root, "sh tests/check.sh; sh 'x y.sh'", ["tests/check.sh", "x y.sh"])
    assert code == 0  # the base's `x y.sh` is `true`
    assert not (root / "tests/check.sh").exists()
    assert (root / "x y.sh").read_text() == "false\n"
    assert git(root, "status", "--porcelain") == ' D tests/check.sh\n M "x y.sh"\n'


def test_base_tests_in_a_workspace_filled_from_a_shallow_pack(root: Path, tmp_path: Path) -> None:
    # A pack holds the head commit alone; its parent is missing and marked shallow, so the
    # head itself is the base, not the repository's first commit.
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q")
    for message, word in (("first", "hey"), ("second", "hello")):
        (origin / "greet.txt").write_text(f"{word}\n")
        (origin / "tests").mkdir(exist_ok=True)
        (origin / "tests/check.sh").write_text(CHECK.replace("hello", word))
        git(origin, "add", "-A")
        git(origin, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", message)
    head = git(origin, "rev-parse", "HEAD").strip()
    objects = run(["git", "-C", str(origin), "rev-list", "--objects", "--no-walk", head]).stdout
    pack = run(["git", "-C", str(origin), "pack-objects", "--stdout", "-q"], objects).stdout
    filled = run(scripts.pack_fill_command(head, root=str(root)), pack)
    assert filled.returncode == 0, filled.stderr
    (root / "greet.txt").write_text("hi\n")
    (root / "tests/check.sh").write_text(CHECK.replace("hello", "hi"))
    assert base_tests(root, "sh tests/check.sh", ["tests/check.sh"])[0] == 1
    (root / "greet.txt").write_text("hello\n")
    assert base_tests(root, "sh tests/check.sh", ["tests/check.sh"])[0] == 0
    assert (root / "tests/check.sh").read_text() == CHECK.replace("hello", "hi")


def test_a_test_file_an_earlier_node_added_does_not_stop_the_others(root: Path) -> None:
    base = workspace(root, {"greet.txt": b"hello\n", "tests/check.sh": CHECK.encode()})
    (root / "tests/more.sh").write_text("#!/bin/sh\ntrue\n")
    done = run(scripts.take_patch_command(base, root=str(root)))  # node 1 added tests/more.sh
    assert done.returncode == 0, done.stderr
    (root / "greet.txt").write_text("hi\n")
    (root / "tests/check.sh").write_text("#!/bin/sh\ntrue\n")
    (root / "tests/more.sh").write_text("#!/bin/sh\ntrue # changed\n")
    command = "sh tests/check.sh && sh tests/more.sh"
    assert base_tests(root, command, ["tests/more.sh", "tests/check.sh"])[0] == 1
    assert (root / "tests/more.sh").read_text() == "#!/bin/sh\ntrue # changed\n"
    assert git(root, "status", "--porcelain") == (
        " M greet.txt\n M tests/check.sh\n M tests/more.sh\n"
    )
