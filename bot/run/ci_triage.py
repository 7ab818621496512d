"""Whose failure a red check is, before a CI fix is spent on it (pure).

A failing check is the run's to fix only when it is neither pre-existing nor flaky:
- pre-existing: the same check (by name) is red on the base branch's head too and its log
  names no file the run changed, so the pull request did not cause it and a fix would chase
  someone else's failure (a check whose failure names the run's files is the run's even when
  the base is red: a bug report's failing test is red on the base by definition);
- flaky: it passed when its failed jobs were re-run once on the same commit.

The CI phase (bot/run/phases/ci.py) asks `should_rerun` on a commit's first red verdict, and
`triage` on its final one (the re-run's verdict, or the first when nothing was re-run).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["pre_existing", "flaky", "ours"]


@dataclass(frozen=True)
class Triage:
    """The checks that failed on a commit, sorted by whose failure each one is."""

    pre_existing: list[str]
    flaky: list[str]
    ours: list[str]

    @property
    def verdicts(self) -> dict[str, Verdict]:
        found: dict[str, Verdict] = {}
        found.update((name, "pre_existing") for name in self.pre_existing)
        found.update((name, "flaky") for name in self.flaky)
        found.update((name, "ours") for name in self.ours)
        return found

    @property
    def green(self) -> bool:
        """Nothing for the run to fix: the pull request may be marked ready."""
        return not self.ours


def implicated(log: str, changed: Collection[str]) -> bool:
    """Whether a failure's log names a file the run changed (a traceback's `File "…/calc.py"`,
    a test id `tests/test_calc.py::test_add`): then a check red on the base branch too may
    still be the run's to fix (the issue may be that very failure). Names are matched whole
    or by their file name, so a doubt counts as the run's."""
    for path in changed:
        name = path.rsplit("/", 1)[-1]
        if path in log or (name and name in log):
            return True
    return False


def should_rerun(
    failing: Sequence[str], base_failing: Collection[str], rerunnable: Collection[str]
) -> bool:
    """Whether a re-run could change the verdict: some failing check not red on the base
    branch is one a re-run runs again (an Actions job; a commit status or another App's
    check run is not re-run by `rerun-failed-jobs`)."""
    return any(name not in base_failing and name in rerunnable for name in failing)


def triage(
    failing: Sequence[str],
    base_failing: Collection[str],
    failing_on_rerun: Sequence[str] | None = None,
) -> Triage:
    """Each failing check's verdict. `failing` is the first verdict's failing checks,
    `failing_on_rerun` the re-run's (None when nothing was re-run).

    A check that passed on the re-run is flaky, even one red on the base branch: it is not
    failing now. One still failing is pre-existing when red on the base branch, else ours; so
    is a check that failed only on the re-run (a job that needs a re-run one): it is red on
    the commit now, and the pull request cannot be called green over it.
    """
    if failing_on_rerun is None:
        now = list(dict.fromkeys(failing))
        flaky: list[str] = []
    else:
        now = list(dict.fromkeys(failing_on_rerun))
        flaky = [name for name in dict.fromkeys(failing) if name not in now]
    pre_existing = [name for name in now if name in base_failing]
    ours = [name for name in now if name not in base_failing]
    return Triage(pre_existing, flaky, ours)
