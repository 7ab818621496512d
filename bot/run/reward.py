"""How good a candidate of the attempts tree is (pure): the test command's verdict, how many
tests fail, whether the changed Python still compiles, and the size of the diff, weighed into
one reward in [0, 1]. bot/run/candidates.py keeps the candidate with the highest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bot.agent.test_weakening import count_tests

# Passing tests outweighs everything else together; a smaller diff only breaks near-ties.
W_PASS = 0.6
W_FAILING = 0.2
W_SYNTAX = 0.15
W_SIZE = 0.05
SIZE_SCALE = 200  # diff lines at which the size term is worth half


@dataclass(frozen=True)
class Score:
    """What a candidate is scored on, as the trajectory's `candidate` record keeps it."""

    tests_pass: bool | None  # None: the repository has no test command
    failing: int | None  # failed and erroring tests; None when the output does not say
    syntax_ok: bool
    diff_lines: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def failing_tests(output: str) -> int | None:
    """Failed plus erroring tests over every unittest, pytest, jest or `go test` summary in
    `output`; None when there is none."""
    count = count_tests(output)
    return None if count is None else count.failed


def diff_lines(diff: str) -> int:
    """Lines added and removed by a unified diff (its file headers not counted)."""
    return sum(
        1
        for line in diff.splitlines()
        if (line.startswith("+") and not line.startswith("+++ "))
        or (line.startswith("-") and not line.startswith("--- "))
    )


def diff_paths(diff: str) -> list[str]:
    """Every path a `git diff` names, both sides of a rename, each once, in order."""
    paths: list[str] = []
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            found = _header_paths(line[len("diff --git ") :])
        elif line.startswith(("rename from ", "rename to ", "copy from ", "copy to ")):
            found = [_unquote(line.split(" ", 2)[2])]
        else:
            continue
        paths.extend(p for p in found if p and p not in paths)
    return paths


def _header_paths(rest: str) -> list[str]:
    if rest.startswith('"'):
        first, rest = _quoted(rest)
        second = _quoted(rest.lstrip())[0] if rest.lstrip().startswith('"') else rest.strip()
        return [first.removeprefix("a/"), second.removeprefix("b/")]
    if rest.endswith('"'):
        at = rest.rfind(' "')
        return [rest[:at].removeprefix("a/"), _quoted(rest[at + 1 :])[0].removeprefix("b/")]
    # `a/X b/X`: the same path twice (a rename also has its own lines, read above).
    half = (len(rest) - 5) // 2
    return [rest[2 : 2 + half]] if half > 0 else []


def _quoted(text: str) -> tuple[str, str]:
    """The C-quoted string `text` starts with (git's quoting of unusual paths), and the rest."""
    out = bytearray()
    i = 1
    escapes = {"n": 10, "t": 9, '"': 34, "\\": 92, "a": 7, "b": 8, "f": 12, "r": 13, "v": 11}
    while i < len(text) and text[i] != '"':
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            following = text[i + 1]
            if following.isdigit() and text[i + 1 : i + 4].isdigit():
                out.append(int(text[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(escapes.get(following, ord(following)))
            i += 2
            continue
        out.extend(char.encode())
        i += 1
    return out.decode("utf-8", "replace"), text[i + 1 :]


def _unquote(text: str) -> str:
    return _quoted(text)[0] if text.startswith('"') else text


def syntax_ok(sources: Mapping[str, bytes]) -> bool:
    """Whether every Python file in `sources` (path → content) compiles. Compiling runs
    nothing of the file; only `.py` paths are looked at."""
    for path, source in sources.items():
        if not path.endswith(".py"):
            continue
        try:
            compile(source, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):  # ValueError: a null byte in the source
            return False
    return True


def score(
    exit_code: int | None, test_output: str | None, sources: Mapping[str, bytes], diff: str
) -> Score:
    """The score of a candidate: `exit_code` and `test_output` from the test command (both
    None without one), `sources` its changed files, `diff` its change."""
    if test_output is None:
        passed, failing = None, None
    else:
        passed = exit_code == 0
        failing = failing_tests(test_output)
        if failing is None and passed:
            failing = 0
    return Score(passed, failing, syntax_ok(sources), diff_lines(diff))


def reward(value: Score) -> float:
    """The score weighed into one number in [0, 1]; higher is better."""
    passing = 0.5 if value.tests_pass is None else float(value.tests_pass)
    if value.failing is not None:
        failing = 1.0 / (1 + value.failing)
    else:
        failing = 0.5 if value.tests_pass is None else float(value.tests_pass)
    size = 1.0 / (1 + value.diff_lines / SIZE_SCALE)
    total = W_PASS * passing + W_FAILING * failing + W_SYNTAX * value.syntax_ok + W_SIZE * size
    return round(total, 4)
