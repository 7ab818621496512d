"""`issue-pilot run-local`: the same run against a local checkout, with no GitHub.

The branch and its commits are left in that repository; the status, notes and the pull
request's body are printed and kept under the runs directory.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.run.controller import Controller
from bot.run.deps import RunDeps
from bot.run.host import IssueNow, IssueRef, PullRef, RunTarget
from bot.run.report import StatusReport
from bot.run.state import RunState, run_dir_name

LOCAL_AUTHOR = ("issue-pilot[bot]", "issue-pilot@localhost")


def read_issue(path: Path, number: int) -> IssueRef:
    """A JSON object with title and body (and number), or markdown: the first line is the title."""
    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text)
        return IssueRef(int(data.get("number", number)), str(data["title"]), str(data["body"]))
    lines = text.strip().splitlines()
    if not lines:
        raise ValueError(f"{path} is empty: its first line should be the issue's title")
    title = lines[0].lstrip("#").strip()
    return IssueRef(number, title, "\n".join(lines[1:]).strip())


async def _git(repo: Path, *args: str) -> str | None:
    proc = await asyncio.create_subprocess_exec(
        "git", "-C", str(repo), *args,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return out.decode() if proc.returncode == 0 else None


class LocalRunHost:
    def __init__(self, repo: Path, issue: IssueRef, run_dir: Path, out: TextIO) -> None:
        self._repo = repo.resolve()
        self._issue = issue
        self._run_dir = run_dir
        self._out = out
        self._last_status = ""

    async def target(self) -> RunTarget:
        branch = await _git(self._repo, "symbolic-ref", "--short", "HEAD")
        if branch is None:
            raise ValueError(f"{self._repo} is not a git repository on a branch")
        return RunTarget(
            key=f"local{self._repo}",
            remote_url=str(self._repo),
            base_branch=branch.strip(),
            issue=self._issue,
        )

    async def issue_now(self) -> IssueNow:
        return IssueNow(True, None)  # an issue file is open for as long as it is run

    @property
    def _state_file(self) -> Path:
        return self._run_dir / "state.json"

    async def load_state(self) -> RunState | None:
        if not self._state_file.exists():
            return None
        return RunState.from_dict(json.loads(self._state_file.read_text()))

    async def save_state(self, state: RunState, report: StatusReport) -> None:
        self._run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state.to_dict(), indent=2))
        tmp.replace(self._state_file)
        shown = "\n".join([report.headline, report.checklist, *report.facts]).strip()
        if shown != self._last_status:
            self._out.write(f"\n== {state.phase.value} ==\n{shown}\n")
            self._out.flush()
            self._last_status = shown

    async def post_once(self, key: str, body: str, number: int | None = None) -> None:
        note = self._run_dir / f"note-{key}.md"
        if note.exists():
            return
        self._run_dir.mkdir(parents=True, exist_ok=True)
        note.write_text(body)
        self._out.write(f"\n-- comment --\n{body}\n")

    async def remove_label(self, name: str) -> None:
        """A local run has no labels."""

    # A local checkout has no CI and no reviewers: the run rests once its branch is ready.
    async def app_slug(self) -> str:
        return LOCAL_AUTHOR[0].removesuffix("[bot]")

    async def check_runs(self, sha: str) -> list[Any]:
        return []

    async def commit_statuses(self, sha: str) -> list[Any]:
        return []

    async def failed_job_logs(self, sha: str) -> list[Any]:
        return []

    async def job_logs(self, sha: str) -> list[Any]:
        return []

    async def workflow_runs(self, sha: str) -> list[Any]:
        return []

    async def check_suites(self, sha: str) -> list[Any]:
        return []

    async def branch_sha(self, branch: str) -> str | None:
        return None  # no CI to compare with

    async def changed_files(self, base: str, head: str) -> list[str]:
        return []  # never asked: without a base sha there is no comparison

    async def rerun_failed_jobs(self, run_id: int) -> bool:
        return False

    async def mark_ready(self, number: int) -> None:
        self._out.write("\nThe branch is ready for review.\n")

    async def review(self, number: int, review_id: int) -> Any:
        raise LookupError("a local run has no reviews")

    async def review_comments(self, number: int, review_id: int) -> list[Any]:
        return []

    async def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> None:
        raise LookupError("a local run has no reviews")

    async def pull_reviews(self, number: int) -> list[Any]:
        return []

    async def pull_commits(self, number: int) -> list[Any]:
        return []

    async def read_config(self, ref: str) -> str | None:
        return await _git(self._repo, "show", f"{ref}:.github/pilot.yml")

    async def git_token(self) -> str | None:
        return None

    async def author(self) -> tuple[str, str]:
        return LOCAL_AUTHOR

    # A local checkout has one person, its owner: nothing is held from them.
    async def issue_author(self) -> str:
        return ""

    async def permission(self, login: str) -> str:
        return "admin"

    async def open_pull(self, branch: str, base: str, title: str, body: str) -> PullRef:
        path = self._run_dir / "pull_request.md"
        path.write_text(f"# {title}\n\n{body}")
        self._out.write(f"\nBranch `{branch}` is ready in {self._repo}; PR text: {path}\n")
        return PullRef(0, str(path))

    async def update_pull(self, number: int, body: str) -> None:
        (self._run_dir / "pull_request.md").write_text(body)

    async def retitle_pull(self, number: int, title: str) -> None:
        self._out.write(f"\nThe branch is ready for review: {title}\n")


async def run_local(
    deps: RunDeps, repo: Path, issue: IssueRef, out: TextIO = sys.stdout
) -> RunState:
    """`repo` must be resolved: its name names the run."""
    run_id = run_dir_name(f"local/{repo.name}", issue.number)
    host = LocalRunHost(repo, issue, deps.runs_dir / run_id, out)
    return await Controller(deps, host, run_id, "local").run()


def main_run_local(deps: RunDeps, repo: Path, issue_file: Path, number: int) -> int:
    state = asyncio.run(run_local(deps, repo.resolve(), read_issue(issue_file, number)))
    print(f"\nrun ended in phase {state.phase.value}")
    return 0 if state.error is None and state.question is None else 1
