"""What the git and CI tests add to ``tests.ghsim_support``: per-module ghsim instances,
webhook waits that look only after a mark, signature checks, and git without prompts."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from githubkit.webhooks import verify

from tests.ghsim_support import Delivery, GhsimProcess, Receiver


class WebhookReceiver(Receiver):
    @contextmanager
    def running(self) -> Iterator[WebhookReceiver]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def event(
        self,
        event: str,
        action: str | None = None,
        timeout: float = 30.0,
        after: int = 0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Delivery:
        """The first delivery of this event (and action) since the `after` mark."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for delivery in list(self.deliveries)[after:]:
                if (
                    delivery.event == event
                    and action in (None, delivery.action)
                    and (where is None or where(delivery.payload))
                ):
                    return delivery
            time.sleep(0.05)
        seen = [(d.event, d.action) for d in self.deliveries[after:]]
        raise AssertionError(f"no {event}.{action} webhook within {timeout}s; got {seen}")


class Ghsim(GhsimProcess):
    @property
    def app(self) -> dict[str, Any]:  # type: ignore[override]
        return self.app_info

    @property
    def webhook_secret(self) -> str:
        return str(self.app_info["webhook_secret"])

    def app_client(self) -> Any:
        return GhsimProcess.app(self)

    def git_url(self, full_name: str, token: str | None = None, user: str = "x") -> str:
        auth = f"{user}:{token}@" if token else ""
        return f"http://{auth}127.0.0.1:{self.port}/{full_name}.git"


@contextmanager
def running_ghsim(data_dir: Path, webhook_url: str | None) -> Iterator[Ghsim]:
    sim = Ghsim(data_dir, webhook_url)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def assert_signed(delivery: Delivery, secret: str) -> None:
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    signature = headers["x-hub-signature-256"]
    assert verify(secret, delivery.body, signature), f"bad signature on {delivery.event}"


def run_git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """git as a person runs it, with no credential helper and no prompts."""
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
        "GIT_AUTHOR_NAME": "Alice",
        "GIT_AUTHOR_EMAIL": "alice@example.com",
        "GIT_COMMITTER_NAME": "Alice",
        "GIT_COMMITTER_EMAIL": "alice@example.com",
    }
    result = subprocess.run(
        ["git", "-c", "credential.helper=", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stderr}")
    return result


def write_files(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
