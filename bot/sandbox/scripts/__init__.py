"""The scripts that run inside a sandbox container, and the command lines that run them.

Each script is a file of this package, read once at import and sent whole as an argument of the
exec (`python3 -c SCRIPT ...` or `bash -c SCRIPT NAME ...`): nothing is copied into the container,
whose root filesystem is read-only and whose workspace is the agent's. Nothing is substituted into
a script's text either: what varies (the workspace root first, then the git identity, the
exclusions, the baseline) goes in as arguments, which the builders below lay out and each script's
header documents. So the same command line runs a script locally against a temporary directory
in tests/sandbox/test_scripts.py.

A few words are written both here and in a script, and test_scripts checks they agree: the file
tool's refusal code (FILE_REFUSED), the run wrapper's line for a full pids limit (PIDS_FULL) and
take_patch's `PILOT-BASELINE` line.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from importlib.resources import files

from bot.sandbox.api import WORKSPACE


def _text(name: str) -> str:
    return files(__name__).joinpath(name).read_text(encoding="utf-8")


FILE_TOOL = _text("file_tool.py")
FILL = _text("fill.py")
PACK_FILL = _text("pack_fill.sh")
TAKE_PATCH = _text("take_patch.sh")
RUN_WRAPPER = _text("run_wrapper.sh")
SWEEP = _text("sweep.sh")
BASE_TESTS = _text("base_tests.sh")

FILE_REFUSED = 3  # the file tool's "refused" exit code; its stderr says why
PIDS_FULL = "pilot: the process limit is full"

GIT_NAME = "Issue Pilot"
GIT_EMAIL = "issue-pilot@localhost"
# What running a project's tools leaves behind (bytecode, caches, installed packages) is never
# the agent's work: untracked files like these stay out of the patch even when the repository
# does not ignore them itself. Tracked files under such paths still count.
BUILD_LEFTOVERS = (
    "__pycache__/", "*.py[cod]", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/", ".tox/",
    ".venv/", "node_modules/",
)  # fmt: skip
EXCLUDE = "\n".join(BUILD_LEFTOVERS)


def file_tool_command(op: str, rel: str, limit: int, root: str = WORKSPACE) -> list[str]:
    """Read, write (the bytes on stdin) or delete `rel`; a read refuses more than `limit` bytes."""
    return ["python3", "-c", FILE_TOOL, root, op, rel, str(limit)]


def fill_command(with_tar: bool, root: str = WORKSPACE) -> list[str]:
    """Extract the tree tar on stdin (`with_tar`) and commit the workspace as the baseline."""
    script = 'exec python3 -c "$0" "$@"'
    if with_tar:  # an empty tree may come as no bytes at all, which tar refuses
        script = f'tar -x -f - -C "$1" --no-same-owner && {script}'
    return ["bash", "-c", script, FILL, root, GIT_NAME, GIT_EMAIL, EXCLUDE]


def pack_fill_command(commit: str, root: str = WORKSPACE) -> list[str]:
    """Check `commit` out of the pack on stdin; it is the baseline."""
    return ["bash", "-c", PACK_FILL, "fill", root, commit, GIT_NAME, GIT_EMAIL, EXCLUDE]


def take_patch_command(base: str, root: str = WORKSPACE) -> list[str]:
    """The patch since `base` on stdout; the new baseline on stderr's `PILOT-BASELINE` line."""
    return ["bash", "-c", TAKE_PATCH, "take_patch", root, base, GIT_NAME, GIT_EMAIL]


def run_command(command: str, limit_s: float) -> list[str]:
    """`command` under bash, killed with its process group after `limit_s` seconds."""
    wrapped = ["timeout", "-s", "KILL", f"{limit_s:.3f}", "bash", "-c", command]
    return ["bash", "-c", RUN_WRAPPER, "run", *wrapped]


def base_tests_line(test_command: str, paths: Sequence[str]) -> str:
    """A line for `Sandbox.run`: the test command against the session base's versions of
    `paths` (the test files a change touched), the change's versions put back after."""
    return shlex.join(["bash", "-c", BASE_TESTS, "base_tests", test_command, *paths])


def sweep_command() -> list[str]:
    """Kill every process of the user it runs as; prints the pids still there."""
    return ["bash", "-c", SWEEP]
