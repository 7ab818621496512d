"""Read, write or delete one file of the workspace, as the agent's user.

Run inside the container as `python3 -c <this file> ROOT OP PATH LIMIT`: OP is read, write (the
bytes come on stdin) or delete; PATH is relative to ROOT; a read refuses files over LIMIT bytes.
The host has already refused lexical escapes; this refuses symlinks that lead out, which only the
container can see. A refusal exits with REFUSED and says why on stderr.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import NoReturn

REFUSED = 3


def main(root: str, op: str, rel: str, limit: int) -> None:
    def fail(why: str) -> NoReturn:
        sys.stderr.write(f"{rel}: {why}")
        sys.exit(REFUSED)

    def inside(p: str) -> bool:
        return p == root or p.startswith(root + "/")

    path = os.path.normpath(os.path.join(root, rel))
    if not inside(path) or path == root:
        fail("is outside the workspace")
    parent = os.path.realpath(os.path.dirname(path))
    if not inside(parent):
        fail("a symlink on the way leads outside the workspace")
    target = os.path.join(parent, os.path.basename(path))
    if op == "delete":
        if os.path.isdir(target) and not os.path.islink(target):
            fail("is a directory")
        try:
            os.unlink(target)
        except FileNotFoundError:
            fail("no such file")
        sys.exit(0)
    real = os.path.realpath(target)
    if not inside(real):
        fail("is a symlink that leads outside the workspace")
    if op == "read":
        if not os.path.isfile(real):
            fail("no such file" if not os.path.exists(real) else "is not a regular file")
        if os.path.getsize(real) > limit:
            fail(f"is larger than {limit} bytes")
        with open(real, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer)
    elif op == "write":
        if os.path.isdir(real):
            fail("is a directory")
        data = sys.stdin.buffer.read()
        os.makedirs(os.path.dirname(real), exist_ok=True)
        with open(real, "wb") as out:
            out.write(data)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
