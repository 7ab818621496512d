"""git's ``proc-receive`` hook for pushes that may not touch workflow files (standard library
only: receive-pack runs it as a script, see ``workflow_guard.py``).

GitHub refuses a push from a GitHub App without the ``workflows`` permission whose new commits
create, change or delete a file under ``.github/workflows/``, naming the file in the ref's
report: ``! [remote rejected] main -> main (refusing to allow a GitHub App to create or update
workflow `.github/workflows/ci.yml` without `workflows` permission)``. Every other command falls
through to receive-pack, which updates the ref as usual. Protocol: githooks(5), "proc-receive".
"""

from __future__ import annotations

import subprocess
import sys
from typing import BinaryIO

WORKFLOWS_DIR = ".github/workflows/"
REFUSAL = (
    "refusing to allow a GitHub App to create or update workflow `{path}` "
    "without `workflows` permission"
)


def read_packet(stream: BinaryIO) -> str | None:
    """One pkt-line's text; None for a flush packet."""
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError("receive-pack closed the hook's input")
    size = int(head, 16)
    if size == 0:
        return None
    return stream.read(size - 4).decode("utf-8", "surrogateescape").rstrip("\n")


def write_packet(stream: BinaryIO, text: str | None) -> None:
    if text is None:
        stream.write(b"0000")
    else:
        data = text.encode("utf-8", "surrogateescape") + b"\n"
        stream.write(b"%04x" % (len(data) + 4) + data)
    stream.flush()


def touched_workflow(new: str) -> str | None:
    """The first workflow file the commits new to the repository add, change or delete."""
    # `--not --all`: only commits no ref reaches yet, so a branch started from main is not
    # blamed for main's workflows; `-c`: a merge counts only what it changes from every parent.
    result = subprocess.run(
        ["git", "log", "--format=", "--name-only", "--no-renames", "--full-history", "-c",
         "--root", new, "--not", "--all", "--", WORKFLOWS_DIR],
        capture_output=True, text=True, errors="surrogateescape", check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return None  # not a commit: receive-pack's own checks answer for it
    paths = [line for line in result.stdout.splitlines() if line.startswith(WORKFLOWS_DIR)]
    return paths[0] if paths else None


def verdict(old: str, new: str, ref: str) -> list[str]:
    """The report lines for one command."""
    if set(new) != {"0"}:  # a deletion changes no file
        path = touched_workflow(new)
        if path is not None:
            return [f"ng {ref} {REFUSAL.format(path=path)}"]
    return [f"ok {ref}", "option fall-through"]


def main(stdin: BinaryIO, stdout: BinaryIO) -> int:
    while read_packet(stdin) is not None:  # version=1 and receive-pack's features
        continue
    write_packet(stdout, "version=1")
    write_packet(stdout, None)
    commands = []
    while (line := read_packet(stdin)) is not None:
        old, new, ref = line.split(" ", 2)
        commands.append((old, new, ref))
    for old, new, ref in commands:
        for report in verdict(old, new, ref):
            write_packet(stdout, report)
    write_packet(stdout, None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.stdin.buffer, sys.stdout.buffer))
