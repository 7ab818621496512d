"""Whether a change weakens the repository's tests (pure): test files deleted or renamed out
of test discovery, test functions or classes removed, assertions dropped, skips added, and
fewer tests run than before. A weak model can turn a red test run green by deleting the test;
the run engine (bot/run/phases/test_guard.py) asks a person before such a pull request is
marked ready, and the agent's finish gate can refuse such a `finish`.

    count = count_tests(output)             # tests run, failed, skipped; None if unsaid
    found = findings(diff, before, after)   # over `git diff base...head`
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TypeGuard

from bot.agent.unified_diff import FileChange, file_changes

# CI logs carry colours and, on GitHub Actions, a timestamp before each line.
_NOISE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|^\d{4}-\d\d-\d\dT[\d:.]+Z ?", re.MULTILINE)
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in [\d.]+s", re.MULTILINE)
_UNITTEST_VERDICT = re.compile(r"^(OK|FAILED|NO TESTS RAN)\b(?: \(([^)]*)\))?", re.MULTILINE)
_PYTEST_WORD = r"\d+ (?:passed|failed|skipped|deselected|xfailed|xpassed|errors?|warnings?|rerun)"
_PYTEST = re.compile(
    rf"^[= ]*(no tests ran|{_PYTEST_WORD}(?:, {_PYTEST_WORD})*) in [\d.]+s\b", re.MULTILINE
)
_JEST = re.compile(r"^\s*Tests:\s+(.*?)\b(\d+) total", re.MULTILINE)
_VITEST = re.compile(r"^\s*Tests\s+((?:\d+ [a-z]+(?: \| )?)+)\s*\(\d+\)", re.MULTILINE)
_GO = re.compile(r"^\s*--- (PASS|FAIL|SKIP): ", re.MULTILINE)
_GO_NONE = re.compile(r"\[no tests to run\]|^testing: warning: no tests to run", re.MULTILINE)
_COUNT = re.compile(r"(\d+) ([a-z]+)")


@dataclass(frozen=True)
class TestCount:
    """What one run of a test command says: tests that ran (skipped ones not among them), of
    those the failed or erroring, and the skipped."""

    __test__ = False  # a name pytest would otherwise try to collect

    ran: int
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: TestCount) -> TestCount:
        return TestCount(
            self.ran + other.ran, self.failed + other.failed, self.skipped + other.skipped
        )

    def to_dict(self) -> dict[str, int]:
        return {"ran": self.ran, "failed": self.failed, "skipped": self.skipped}

    @classmethod
    def from_dict(cls, data: Any) -> TestCount | None:
        """None for anything but a count `to_dict` wrote (a state block edited by hand)."""
        if not isinstance(data, dict):
            return None
        ran, failed, skipped = (data.get(key) for key in ("ran", "failed", "skipped"))
        if not (_count(ran) and _count(failed) and _count(skipped)):
            return None
        return cls(ran, failed, skipped)

    def __str__(self) -> str:
        text = f"{self.ran} ran"
        if self.failed:
            text += f", {self.failed} failed"
        if self.skipped:
            text += f", {self.skipped} skipped"
        return text


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def count_tests(output: str) -> TestCount | None:
    """The tests `output` says ran, summed over every summary in it (unittest, pytest, jest,
    vitest, `go test -v`): a CI log can hold several test steps. None when it says nothing."""
    output = _NOISE.sub("", output)
    counts = [*_unittest(output), *_pytest(output), *_jest(output), *_go(output)]
    if not counts:
        return None
    total = counts[0]
    for count in counts[1:]:
        total += count
    return total


def _unittest(output: str) -> list[TestCount]:
    found = []
    for match in _UNITTEST_RAN.finditer(output):
        verdict = _UNITTEST_VERDICT.search(output, match.end())
        parts: dict[str, int] = {}
        if verdict is not None:
            for part in (verdict.group(2) or "").split(","):
                key, _, value = part.strip().partition("=")
                if value.isdigit():
                    parts[key] = int(value)
        skipped = parts.get("skipped", 0)
        failed = parts.get("failures", 0) + parts.get("errors", 0)
        # unittest counts skipped tests among those it ran.
        found.append(TestCount(max(0, int(match.group(1)) - skipped), failed, skipped))
    return found


def _pytest(output: str) -> list[TestCount]:
    found = []
    for match in _PYTEST.finditer(output):
        parts = {kind: int(n) for n, kind in _COUNT.findall(match.group(1))}
        failed = parts.get("failed", 0) + parts.get("error", 0) + parts.get("errors", 0)
        ran = parts.get("passed", 0) + failed + parts.get("xfailed", 0) + parts.get("xpassed", 0)
        found.append(TestCount(ran, failed, parts.get("skipped", 0)))
    return found


def _jest(output: str) -> list[TestCount]:
    found = []
    summaries = [m.group(1) for m in _JEST.finditer(output)]
    summaries += [m.group(1) for m in _VITEST.finditer(output)]
    for summary in summaries:
        parts = {kind: int(n) for n, kind in _COUNT.findall(summary)}
        failed = parts.get("failed", 0)
        skipped = parts.get("skipped", 0) + parts.get("todo", 0)
        found.append(TestCount(parts.get("passed", 0) + failed, failed, skipped))
    return found


def _go(output: str) -> list[TestCount]:
    verdicts = Counter(m.group(1) for m in _GO.finditer(output))
    if not verdicts and not _GO_NONE.search(output):
        return []
    ran = verdicts["PASS"] + verdicts["FAIL"]
    return [TestCount(ran, verdicts["FAIL"], verdicts["SKIP"])]


# the diff ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One way the change weakens the tests: `kind` (test_file_deleted, test_file_renamed,
    tests_removed, test_class_removed, test_class_base, assertions_dropped, skip_added,
    fewer_tests, no_tests_ran), the test file (empty for counts), the tests or markers it
    concerns, and a line a person reads."""

    kind: str
    path: str
    detail: str
    names: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Stable across re-runs of the same change, short whatever the paths: what a person's
        confirmation is remembered by."""
        text = "\0".join([self.kind, self.path, *sorted(self.names)])
        return f"{self.kind}:{hashlib.sha1(text.encode()).hexdigest()[:12]}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "detail": self.detail, "key": self.key}


_TEST_DIRS = frozenset({"tests", "test", "spec", "__tests__"})
_JS_TEST_NAME = re.compile(r"\.(?:test|spec)\.[cm]?[jt]sx?$")
_PY_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(test\w*)\s*\(")
_PY_CLASS = re.compile(r"^\s*class\s+(\w+)\s*(?:\((.*)\))?\s*:")
_PY_METHOD = re.compile(r"^\s+(?:async\s+)?def\s+(test\w*)\s*\(\s*self\b")
_PY_FUNCTION = re.compile(r"^(?:async\s+)?def\s+(test\w*)\s*\(")
_SELF_ASSERT = re.compile(r"\bself\.assert\w*\s*\(")
_JS_TEST = re.compile(r"""^\s*(?:it|test)\s*\(\s*(['"`])(.+?)\1""")
_GO_TEST = re.compile(r"^func\s+(Test\w+)\s*\(")
_ASSERT = re.compile(
    r"^\s*assert\b|\bself\.assert\w*\s*\(|\bself\.fail\s*\(|\bpytest\.raises\s*\("
    r"|\bexpect\s*\(|\bassert(?:\.\w+)?\s*\(|\b(?:require|assert)\.\w+\s*\("
    r"|\bt\.(?:Error|Errorf|Fatal|Fatalf|Fail|FailNow)\s*\("
)
_SKIP = re.compile(
    r"@(?:unittest\.)?skip\w*|@unittest\.expectedFailure|@pytest\.mark\.(?:skip\w*|xfail)"
    r"|\bskipTest\s*\(|\bSkipTest\b|\bpytest\.(?:skip|xfail|importorskip)\s*\("
    r"|\b(?:it|test|describe)\.(?:skip|todo|only)\b|\b(?:xit|xtest|xdescribe|fit|fdescribe)\s*\("
    r"|\bt\.Skip(?:f|Now)?\s*\("
)
_COMMENT = ("#", "//", "/*", "*")


def is_test_file(path: str) -> bool:
    """A file of the tests: in a tests/test/spec/__tests__ directory, or named as one."""
    parts = PurePosixPath(path).parts
    return any(part in _TEST_DIRS for part in parts[:-1]) or is_discovered(path)


def is_discovered(path: str) -> bool:
    """Named so that the usual runners collect it: unittest's `test*.py`, pytest's
    `*_test.py`, jest's `*.test.js` and `__tests__/`, `*_test.go`, rspec's `*_spec.rb`."""
    pure = PurePosixPath(path)
    name = pure.name
    if name.endswith(".py"):
        return name.startswith("test") or name.endswith("_test.py")
    return (
        bool(_JS_TEST_NAME.search(name))
        or ("__tests__" in pure.parts[:-1] and name.endswith((".js", ".ts", ".jsx", ".tsx")))
        or name.endswith(("_test.go", "_spec.rb", "_test.rb"))
    )


def findings(
    diff: str, before: TestCount | None = None, after: TestCount | None = None
) -> list[Finding]:
    """What in `diff` (a unified `git diff` of the base against the change) weakens the tests,
    and, with both counts, fewer tests run after than before. A test added, renamed within its
    file or moved to another test file, or an assertion rewritten, is no finding."""
    files = [
        f for f in file_changes(diff) if is_test_file(f.old or "") or is_test_file(f.new or "")
    ]
    had = [_tests(f.removed) for f in files]
    gone = [removed - _tests(f.added) for f, removed in zip(files, had, strict=True)]
    new = [_tests(f.added) - removed for f, removed in zip(files, had, strict=True)]
    # A test that reappears in another file the runners collect was moved, not removed.
    for i in range(len(files)):
        for j, other in enumerate(files):
            if i == j or other.new is None or not is_discovered(other.new):
                continue
            moved = gone[i] & new[j]
            gone[i] -= moved
            new[j] -= moved
    found: list[Finding] = []
    for f, before_tests, lost, arrived in zip(files, had, gone, new, strict=True):
        found += _file_findings(f, bool(before_tests), lost, arrived)
    found += count_findings(before, after)
    return found


def _file_findings(
    f: FileChange, had: bool, gone: Counter[str], new: Counter[str]
) -> list[Finding]:
    path = f.new or f.old or ""
    names = tuple(sorted(gone))
    if f.new is None:
        assert f.old is not None
        if (had and not gone) or (not had and not is_discovered(f.old)):
            return []  # a test file all of whose tests moved, or a helper or fixture
        listed = f" (tests: {_listed(names)})" if names else ""
        return [Finding("test_file_deleted", f.old, f"{f.old} was deleted{listed}", names)]
    found: list[Finding] = []
    if f.old is not None and f.old != f.new and is_discovered(f.old) and not is_discovered(f.new):
        detail = f"{f.old} was renamed to {f.new}, a name the test runners do not collect"
        found.append(Finding("test_file_renamed", f.old, detail, (f.new,)))
    # A test renamed within its file leaves as many as it found; fewer is a removal.
    if sum(gone.values()) > sum(new.values()):
        detail = f"{_listed(names)} removed from {path}"
        found.append(Finding("tests_removed", path, detail, names))
    found += _class_findings(f, path)
    removed = _matching(_ASSERT, f.removed)
    kept = _matching(_ASSERT, f.added)
    if len(removed) > len(kept):
        detail = f"{path}: {len(removed)} assertion line(s) removed, {len(kept)} added"
        found.append(Finding("assertions_dropped", path, detail))
    skips = Counter(m for line in _code(f.added) for m in _SKIP.findall(line))
    skips -= Counter(m for line in _code(f.removed) for m in _SKIP.findall(line))
    if skips:
        markers = tuple(sorted(skips))
        found.append(Finding("skip_added", path, f"{path}: {_listed(markers)} added", markers))
    return found


def _class_findings(f: FileChange, path: str) -> list[Finding]:
    """Test classes gone (their methods no longer collected by unittest), or no longer
    derived from a TestCase."""
    before = _classes(f.removed)
    after = _classes(f.added)
    found: list[Finding] = []
    gone = [name for name in before if name not in after]
    new = [name for name in after if name not in before]
    if len(gone) > len(new):
        names = tuple(gone)
        detail = f"test class {_listed(names)} removed from {path}: its tests no longer run"
        found.append(Finding("test_class_removed", path, detail, names))
    for name, bases in before.items():
        now = after.get(name)
        if now is not None and "TestCase" in bases and "TestCase" not in now:
            detail = f"test class {name} in {path} no longer derives from {bases}"
            found.append(Finding("test_class_base", path, detail, (name,)))
    if any("TestCase" in bases for bases in before.values()) or _matching(_SELF_ASSERT, f.removed):
        # unittest collects only a TestCase's methods: a test moved out of its class is lost.
        methods = {m.group(1) for m in map(_PY_METHOD.match, f.removed) if m}
        bare = {m.group(1) for m in map(_PY_FUNCTION.match, f.added) if m}
        left = tuple(sorted(methods & bare))
        if left:
            detail = f"{_listed(left)} in {path} left their TestCase: unittest no longer runs them"
            found.append(Finding("tests_left_class", path, detail, left))
    return found


def count_findings(
    before: TestCount | None, after: TestCount | None, where: str = ""
) -> list[Finding]:
    """Fewer tests ran after the change than before it, or none at all where nothing says how
    many ran before; `where` names what ran them (a CI job), the test command when empty."""
    if after is None:
        return []
    names = (where,) if where else ()
    if before is not None and after.ran < before.ran:
        place = f" in {where}" if where else ""
        detail = f"fewer tests ran{place}: {before.ran} before the change, {after.ran} after it"
        return [Finding("fewer_tests", "", detail, names)]
    if before is None and after.ran == 0:
        detail = f"{where or 'the test command'} ran no test at all"
        return [Finding("no_tests_ran", "", detail, names)]
    return []


def _tests(lines: list[str]) -> Counter[str]:
    names: Counter[str] = Counter()
    for line in _code(lines):
        for pattern in (_PY_DEF, _GO_TEST):
            match = pattern.match(line)
            if match:
                names[match.group(1)] += 1
        match = _JS_TEST.match(line)
        if match:
            names[match.group(2)] += 1
    return names


def _classes(lines: list[str]) -> dict[str, str]:
    """Test classes defined in `lines`: a TestCase's subclass or a `Test…` class, by name,
    with their bases as written."""
    found: dict[str, str] = {}
    for line in _code(lines):
        match = _PY_CLASS.match(line)
        if match is None:
            continue
        name, bases = match.group(1), match.group(2) or ""
        if "TestCase" in bases or name.startswith("Test"):
            found[name] = bases.strip()
    return found


def _code(lines: list[str]) -> list[str]:
    """Lines that are not comments: an assertion commented out is an assertion removed."""
    return [line for line in lines if not line.strip().startswith(_COMMENT)]


def _matching(pattern: re.Pattern[str], lines: list[str]) -> list[str]:
    return [line for line in _code(lines) if pattern.search(line)]


def _listed(names: tuple[str, ...], shown: int = 8) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
