"""The run path leaves the event loop free (the lease's renewal runs on it): trimming failed
jobs' 20 MB logs into a fix's notes, and run-local's git reads with a git that takes a second."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any, cast

import pytest

from bot.github.api import CheckRunInfo, JobLog
from bot.github.ci_report import CiVerdict
from bot.run.host import IssueRef
from bot.run.local import LocalRunHost
from bot.run.phases.ci import CiEvidence, CiHost
from tests.github.test_workspace import commit_files, git
from tests.loop_probe import loop_probe, slow_git

MAX_GAP_S = 0.5
JOBS = ("tests", "lint", "types")


def big_log(name: str, megabytes: int = 20) -> str:
    """A runner's log as GitHub serves it: timestamps, colours, an error now and then."""
    lines: list[str] = []
    size = 0
    i = 0
    while size < megabytes * 1024**2:
        line = (
            f"2024-05-01T10:00:{i % 60:02d}.1234567Z \x1b[32mtests/test_{name}.py::test_{i} "
            "PASSED\x1b[0m [ 50%]"
        )
        if i % 20_000 == 0:
            line = f"2024-05-01T10:00:00.1234567Z E   AssertionError: {name} case {i} failed"
        lines.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines)


class LogsHost:
    def __init__(self, logs: list[JobLog]) -> None:
        self.logs = logs

    async def failed_job_logs(self, sha: str) -> list[JobLog]:
        return self.logs


async def test_trimming_failed_jobs_logs_leaves_the_loop_free() -> None:
    runs = [
        CheckRunInfo(i, name, "completed", "failure", "github-actions", "", "", "", "")
        for i, name in enumerate(JOBS)
    ]
    logs = [JobLog(i, name, "failure", big_log(name)) for i, name in enumerate(JOBS)]
    found = CiEvidence("a" * 40, CiVerdict("red", failing=list(JOBS)), cast(Any, runs), [])
    async with loop_probe() as probe:
        notes = await found.failure_notes(cast(CiHost, LogsHost(logs)))
    assert [note.splitlines()[0] for note in notes] == [
        f"Check `{name}` (github-actions): failure" for name in JOBS
    ]
    assert all("AssertionError" in note and len(note) < 3000 for note in notes)
    assert probe.max_gap < MAX_GAP_S, f"the loop stalled for {probe.max_gap:.2f} s"


async def test_run_local_reads_git_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "trunk")
    commit_files(repo, {".github/pilot.yml": b"max_steps: 8\n"}, "Config")
    host = LocalRunHost(repo, IssueRef(1, "t", "b"), tmp_path / "runs", io.StringIO())
    slow_git(tmp_path, monkeypatch, 1.0)
    async with loop_probe() as probe:
        target, config = await asyncio.gather(host.target(), host.read_config("trunk"))
    assert target.base_branch == "trunk" and config == "max_steps: 8\n"
    assert probe.max_gap < MAX_GAP_S, f"the loop stalled for {probe.max_gap:.2f} s"
