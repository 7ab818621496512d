"""The git runner: every git process gets a fresh environment (no system or global config, no
hooks, no credential helper, no prompts) and its errors come back with any token redacted.

The token goes to one fetch or push at a time as an environment-config `http.extraHeader`, so it
never reaches a config file, a remote URL, argv or the disk.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

GIT_TIMEOUT_S = 600.0

# Settings for every git process. Hooks are off because a pushed or fetched repository must never
# run code on the host; gc is off because run clones borrow the mirror's objects.
_BASE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull),
    ("credential.helper", ""),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("protocol.allow", "never"),
    ("protocol.https.allow", "always"),
    ("protocol.http.allow", "always"),
    ("protocol.file.allow", "always"),
    ("core.fsmonitor", "false"),
    ("init.defaultBranch", "main"),
)


class WorkspaceError(RuntimeError):
    """A git command failed; `command` and `stderr` have any token redacted."""

    def __init__(self, message: str, command: Sequence[str] = (), stderr: str = "") -> None:
        self.command = list(command)
        self.stderr = stderr
        detail = f": {' '.join(self.command)}" if self.command else ""
        tail = f"\n{stderr.strip()}" if stderr.strip() else ""
        super().__init__(f"{message}{detail}{tail}")


def _auth_header(token: str) -> str:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"Authorization: Basic {basic}"


def redact(text: str, token: str | None) -> str:
    """`text` with the token, and the header git sends it in, replaced by `***`."""
    secrets = [token, _auth_header(token).split()[-1]] if token else []
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class Git:
    """Runs git with an isolated environment; one instance per Workspace."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.runs = 0  # git processes started, for tests and logs

    def env(
        self, token: str | None = None, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        config = list(_BASE_CONFIG)
        if token:
            config.append(("http.extraHeader", _auth_header(token)))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            # Never discover a repository above our own directories (its config is not ours).
            "GIT_CEILING_DIRECTORIES": str(self.home.parent),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "LC_ALL": "C",
            "GIT_CONFIG_COUNT": str(len(config)),
        }
        for i, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
        env.update(extra or {})
        return env

    async def run(
        self,
        *args: str,
        git_dir: Path | None = None,
        token: str | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout_s: float = GIT_TIMEOUT_S,
    ) -> tuple[int, bytes, str]:
        argv = ["git", *([f"--git-dir={git_dir}"] if git_dir else []), *args]
        self.runs += 1
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env(token, env),
            cwd=self.home,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), timeout_s)
        except (TimeoutError, asyncio.CancelledError) as exc:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            if isinstance(exc, TimeoutError):
                raise WorkspaceError(
                    f"git timed out after {timeout_s:.0f}s", _redact_argv(argv, token)
                ) from None
            raise
        stderr = redact(err.decode(errors="replace"), token)
        code = proc.returncode if proc.returncode is not None else -1
        if check and code != 0:
            raise WorkspaceError(
                f"git failed with exit code {code}", _redact_argv(argv, token), stderr
            )
        return code, out, stderr


def _redact_argv(argv: Sequence[str], token: str | None) -> list[str]:
    return [redact(arg, token) for arg in argv]
