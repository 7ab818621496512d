"""The test-weakening detector on real `git diff` output of changes made in a temp repository,
and test counts read from real unittest and pytest runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.agent.test_weakening import TestCount, count_tests, findings, is_test_file

SLUG = "def slugify(text):\n    return text.replace(' ', '-')\n"
TEST_SLUG = """import unittest

from slug import slugify


class TestSlug(unittest.TestCase):
    def test_spaces(self):
        self.assertEqual(slugify("a b"), "a-b")

    def test_case(self):
        self.assertEqual(slugify("A"), "a")


if __name__ == "__main__":
    unittest.main()
"""
# What a weak model made of it: the same test, but a bare function unittest never collects.
TEST_SLUG_BARE = """from slug import slugify


def test_spaces():
    assert slugify("a b") == "a-b"


def test_case():
    assert slugify("A") == "a"
"""


class Repo:
    """A git repository in a temp dir: the base commit, then a change to diff against it."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        self.git("init", "--quiet", "--initial-branch=main")
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", "base")

    def git(self, *args: str) -> str:
        env = {
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "HOME": str(self.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_AUTHOR_NAME": "A",
            "GIT_AUTHOR_EMAIL": "a@example.test",
            "GIT_COMMITTER_NAME": "A",
            "GIT_COMMITTER_EMAIL": "a@example.test",
        }
        done = subprocess.run(
            ["git", *args], cwd=self.root, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def write(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def change(self, files: dict[str, str], delete: tuple[str, ...] = ()) -> str:
        """Commits the change and returns `git diff` of the base against it."""
        self.write(files)
        for name in delete:
            (self.root / name).unlink()
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", "change")
        return self.git("diff", "--no-color", "main~1...HEAD", "--")

    def move(self, old: str, new: str) -> str:
        self.git("mv", old, new)
        self.git("commit", "--quiet", "-m", "move")
        return self.git("diff", "--no-color", "main~1...HEAD", "--")

    def run(self, *argv: str) -> str:
        done = subprocess.run(argv, cwd=self.root, capture_output=True, text=True)
        return done.stdout + done.stderr


def kinds(diff: str, before: TestCount | None = None, after: TestCount | None = None) -> set[str]:
    return {f.kind for f in findings(diff, before, after)}


@pytest.fixture
def slug_repo(tmp_path: Path) -> Repo:
    return Repo(
        tmp_path, {"slug.py": SLUG, "tests/test_slug.py": TEST_SLUG, "tests/__init__.py": ""}
    )


def unittest_run(repo: Repo) -> str:
    return repo.run(sys.executable, "-m", "unittest")


# the case seen with a weak model -------------------------------------------------------------
def test_a_test_class_turned_into_bare_functions_is_flagged_and_counted(slug_repo: Repo) -> None:
    before = count_tests(unittest_run(slug_repo))
    diff = slug_repo.change({"tests/test_slug.py": TEST_SLUG_BARE})
    after = count_tests(unittest_run(slug_repo))

    assert before == TestCount(2, 1, 0) and after == TestCount(0, 0, 0)
    found = {f.kind: f for f in findings(diff, before, after)}
    assert set(found) == {"test_class_removed", "tests_left_class", "fewer_tests"}
    assert found["test_class_removed"].names == ("TestSlug",)
    assert found["test_class_removed"].path == "tests/test_slug.py"
    assert found["tests_left_class"].names == ("test_case", "test_spaces")
    assert "test_case, test_spaces in tests/test_slug.py" in found["tests_left_class"].detail
    assert "2 before the change, 0 after it" in found["fewer_tests"].detail
    # The diff alone says it, without counts.
    assert kinds(diff) == {"test_class_removed", "tests_left_class"}


def test_a_test_file_deleted(slug_repo: Repo) -> None:
    diff = slug_repo.change({}, delete=("tests/test_slug.py",))

    [found] = findings(diff)
    assert found.kind == "test_file_deleted" and found.path == "tests/test_slug.py"
    assert found.names == ("test_case", "test_spaces")
    assert found.detail == "tests/test_slug.py was deleted (tests: test_case, test_spaces)"


def test_a_test_file_renamed_out_of_discovery(slug_repo: Repo) -> None:
    diff = slug_repo.move("tests/test_slug.py", "tests/slug_cases.py")

    assert "rename from tests/test_slug.py" in diff
    [found] = findings(diff)
    assert found.kind == "test_file_renamed" and found.names == ("tests/slug_cases.py",)
    assert "a name the test runners do not collect" in found.detail


def test_a_test_method_removed(slug_repo: Repo) -> None:
    text = TEST_SLUG.replace(
        '    def test_case(self):\n        self.assertEqual(slugify("A"), "a")\n\n', ""
    )
    diff = slug_repo.change({"tests/test_slug.py": text})

    found = {f.kind: f for f in findings(diff)}
    assert set(found) == {"tests_removed", "assertions_dropped"}
    assert found["tests_removed"].names == ("test_case",)
    assert found["tests_removed"].detail == "test_case removed from tests/test_slug.py"
    assert "1 assertion line(s) removed, 0 added" in found["assertions_dropped"].detail


def test_assertions_dropped_or_commented_out(slug_repo: Repo) -> None:
    text = TEST_SLUG.replace(
        '        self.assertEqual(slugify("A"), "a")',
        '        # self.assertEqual(slugify("A"), "a")',
    )
    diff = slug_repo.change({"tests/test_slug.py": text})

    [found] = findings(diff)
    assert found.kind == "assertions_dropped" and found.path == "tests/test_slug.py"


@pytest.mark.parametrize(
    "marker",
    [
        '    @unittest.skip("later")\n',
        '    @unittest.skipIf(True, "no")\n',
        "    @pytest.mark.skip\n",
        "    @pytest.mark.xfail\n",
    ],
)
def test_a_skip_added(slug_repo: Repo, marker: str) -> None:
    text = TEST_SLUG.replace("    def test_case(self):", marker + "    def test_case(self):")
    diff = slug_repo.change({"tests/test_slug.py": text})

    [found] = findings(diff)
    assert found.kind == "skip_added"
    assert found.names[0] in marker


def test_skips_in_the_body_and_in_javascript(tmp_path: Path) -> None:
    repo = Repo(tmp_path, {"tests/test_slug.py": TEST_SLUG, "web/app.test.js": "it('a', f)\n"})
    text = TEST_SLUG.replace(
        '        self.assertEqual(slugify("A"), "a")',
        '        self.skipTest("flaky")\n        self.assertEqual(slugify("A"), "a")',
    )
    diff = repo.change({"tests/test_slug.py": text, "web/app.test.js": "it.skip('a', f)\n"})

    found = {f.path: f for f in findings(diff)}
    assert found["tests/test_slug.py"].names == ("skipTest(",)
    assert found["web/app.test.js"].names == ("it.skip",)


def test_a_test_class_no_longer_a_test_case(slug_repo: Repo) -> None:
    text = TEST_SLUG.replace("class TestSlug(unittest.TestCase):", "class TestSlug(object):")
    diff = slug_repo.change({"tests/test_slug.py": text})

    [found] = findings(diff)
    assert found.kind == "test_class_base" and found.names == ("TestSlug",)
    assert "no longer derives from unittest.TestCase" in found.detail


def test_go_and_javascript_tests_removed(tmp_path: Path) -> None:
    go = "package x\n\nfunc TestA(t *testing.T) {}\n\nfunc TestB(t *testing.T) {}\n"
    js = "test('adds', () => expect(1).toBe(1))\ntest('subtracts', () => expect(0).toBe(0))\n"
    repo = Repo(tmp_path, {"x_test.go": go, "src/math.test.ts": js})
    diff = repo.change(
        {"x_test.go": "package x\n\nfunc TestA(t *testing.T) {}\n", "src/math.test.ts": ""}
    )

    names = {f.path: f.names for f in findings(diff) if f.kind == "tests_removed"}
    assert names == {"x_test.go": ("TestB",), "src/math.test.ts": ("adds", "subtracts")}


# what must not be flagged --------------------------------------------------------------------
def test_a_test_added_is_no_finding(slug_repo: Repo) -> None:
    added = '    def test_dash(self):\n        self.assertEqual(slugify("a-b"), "a-b")\n'
    text = TEST_SLUG.replace("\n\nif __name__", "\n" + added + "\n\nif __name__")
    diff = slug_repo.change({"tests/test_slug.py": text, "tests/test_more.py": "def test_x():\n"})

    assert findings(diff) == []


def test_a_test_renamed_within_its_file_is_no_finding(slug_repo: Repo) -> None:
    diff = slug_repo.change(
        {"tests/test_slug.py": TEST_SLUG.replace("def test_case(", "def test_lower_case(")}
    )

    assert "-    def test_case(self):" in diff
    assert findings(diff) == []


def test_an_assertion_rewritten_is_no_finding(slug_repo: Repo) -> None:
    text = TEST_SLUG.replace(
        'self.assertEqual(slugify("A"), "a")', 'self.assertEqual(slugify("B"), "b")'
    )
    diff = slug_repo.change({"tests/test_slug.py": text})

    assert findings(diff) == []


def test_tests_moved_to_another_test_file_are_no_finding(slug_repo: Repo) -> None:
    diff = slug_repo.change({"tests/test_slugify.py": TEST_SLUG}, delete=("tests/test_slug.py",))

    assert findings(diff) == []


def test_changes_outside_the_tests_are_no_finding(tmp_path: Path) -> None:
    files = {"src/checks.py": "def test_input(x):\n    assert x\n", "tests/helpers.py": "X = 1\n"}
    repo = Repo(tmp_path, files)
    diff = repo.change(
        {"src/checks.py": "def other(x):\n    return x\n"}, delete=("tests/helpers.py",)
    )

    assert findings(diff) == []
    assert not is_test_file("src/checks.py") and is_test_file("tests/helpers.py")


def test_more_tests_after_is_no_finding() -> None:
    assert findings("", TestCount(3), TestCount(4, 1)) == []
    assert findings("", None, TestCount(2)) == []
    assert [f.kind for f in findings("", None, TestCount(0))] == ["no_tests_ran"]


def test_a_findings_key_is_stable_and_short() -> None:
    first = findings("", TestCount(3), TestCount(1))[0]
    again = findings("", TestCount(5), TestCount(0))[0]
    assert first.key == again.key and len(first.key) < 40
    assert first.to_dict()["key"] == first.key


# counting tests ------------------------------------------------------------------------------
def test_counts_from_real_unittest_and_pytest_runs(tmp_path: Path) -> None:
    suite = """import unittest

class T(unittest.TestCase):
    def test_pass(self): pass
    @unittest.skip("x")
    def test_skip(self): pass
    def test_fail(self): self.fail("no")
    def test_error(self): raise RuntimeError
"""
    repo = Repo(tmp_path, {"test_t.py": suite})

    assert count_tests(repo.run(sys.executable, "-m", "unittest")) == TestCount(3, 2, 1)
    pytest_q = repo.run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert count_tests(pytest_q) == TestCount(3, 2, 1)
    pytest_full = repo.run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider")
    assert "===" in pytest_full and count_tests(pytest_full) == TestCount(3, 2, 1)
    (tmp_path / "test_t.py").write_text("X = 1\n")
    assert count_tests(repo.run(sys.executable, "-m", "unittest")) == TestCount(0)
    nothing = repo.run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider")
    assert "no tests ran" in nothing and count_tests(nothing) == TestCount(0)


def test_counts_from_other_runners_and_ci_logs() -> None:
    jest = "Test Suites: 1 failed, 1 total\nTests:       1 failed, 1 skipped, 3 passed, 5 total\n"
    assert count_tests(jest) == TestCount(4, 1, 1)
    assert count_tests(" Tests  1 failed | 2 passed (3)\n") == TestCount(3, 1, 0)
    go = (
        "=== RUN   TestA\n--- PASS: TestA (0.00s)\n"
        "    --- FAIL: TestA/sub (0.00s)\n--- SKIP: TestB\n"
    )
    assert count_tests(go) == TestCount(2, 1, 1)
    assert count_tests("ok  \texample.com/x\t0.001s [no tests to run]\n") == TestCount(0)
    actions = (
        "2024-05-01T10:00:00.1234567Z \x1b[32m==== 4 passed, 1 warning in 0.31s ====\x1b[0m\n"
        "2024-05-01T10:00:01.1234567Z Ran 2 tests in 0.001s\n"
        "2024-05-01T10:00:01.1234567Z \n"
        "2024-05-01T10:00:01.1234567Z OK (skipped=1)\n"
    )
    assert count_tests(actions) == TestCount(5, 0, 1)


def test_output_that_says_nothing_counts_nothing() -> None:
    assert count_tests("") is None
    assert count_tests("Resolved 10 packages in 1.20s\nHello, Ada!\n") is None
    assert TestCount.from_dict({"ran": 2, "failed": 0, "skipped": 1}) == TestCount(2, 0, 1)
    assert TestCount.from_dict({"ran": "2"}) is None and TestCount.from_dict(None) is None
    assert str(TestCount(3, 1, 2)) == "3 ran, 1 failed, 2 skipped"
