"""What the demo does as alice on ghsim: push a small project with git, open an issue about
its failing test, label it; and how she would answer the bot."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.core.templates import render
from bot.dev.stack import DemoError

PROJECT = Path(__file__).resolve().parent / "demo_project"
PERSON = "alice"
REPO = "textkit"
FULL_NAME = f"{PERSON}/{REPO}"
ISSUE_TITLE = 'slugify("Hello, World!") should give "hello-world"'
GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
}


@dataclass(frozen=True)
class Person:
    """alice, a maintainer, on the ghsim at `sim_url` (any `ghp_sim_<login>` token is her)."""

    sim_url: str
    trigger_label: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.sim_url}/api/v3",
            headers={"Authorization": f"token ghp_sim_{PERSON}"},
            timeout=30,
        )

    def push_project(self, gh: httpx.Client) -> None:
        _ok(gh.post("/user/repos", json={"name": REPO, "description": "Small text helpers"}))
        host = self.sim_url.removeprefix("http://")
        remote = f"http://{PERSON}:ghp_sim_{PERSON}@{host}/{FULL_NAME}.git"
        with tempfile.TemporaryDirectory(prefix="pilot-demo-") as tmp:
            work = Path(tmp) / REPO
            shutil.copytree(PROJECT, work)
            _git(work, "init", "-q", "-b", "main")
            _git(work, "add", "-A")
            _git(work, "commit", "-q", "-m", "textkit: slugify")
            _git(work, "push", "-q", remote, "main")

    def open_issue(self, gh: httpx.Client) -> int:
        """Her issue, labelled for the bot; returns its number."""
        body = render("demo/issue.md.j2")
        issue = _ok(
            gh.post(f"/repos/{FULL_NAME}/issues", json={"title": ISSUE_TITLE, "body": body})
        )
        number = int(issue["number"])
        labels = {"labels": [self.trigger_label]}
        _ok(gh.post(f"/repos/{FULL_NAME}/issues/{number}/labels", json=labels))
        return number

    def how_to_answer(self, number: int) -> str:
        return (
            "answer the bot as alice (any comment from her counts while it waits), e.g.:\n"
            f"  curl -s -H 'Authorization: token ghp_sim_{PERSON}' "
            f'-d \'{{"body":"/pilot continue use re.sub"}}\' \\\n'
            f"    {self.sim_url}/api/v3/repos/{FULL_NAME}/issues/{number}/comments"
        )


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise DemoError(
            f"ghsim answered {response.status_code} to {response.request.method} "
            f"{response.request.url.path}: {response.text[:300]}"
        )
    return response.json()


def _git(cwd: Path, *args: str) -> None:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise DemoError(f"git {args[0]} failed: {result.stderr.strip()}")
