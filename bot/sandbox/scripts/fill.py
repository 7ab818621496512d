"""Commit the tree just extracted into the workspace as the baseline, as the agent's user.

Run inside the container as `python3 -c <this file> ROOT NAME EMAIL EXCLUDE`, before the agent
exists: NAME and EMAIL are the baseline's committer, EXCLUDE goes to .git/info/exclude. Prints the
baseline commit last. The baseline is written with fast-import, one pack instead of a loose object
per file: with the tmpfs volume, that is what keeps a 20k-file tree fast.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time


def quote(path: bytes) -> bytes:
    escaped = path.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
    return b'"' + escaped + b'"'


def main(root: str, name: str, email: str, exclude: str) -> None:
    os.chdir(root)
    subprocess.run(["chmod", "-R", "u+rwX", "."], check=True)
    git = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.autocrlf=false"]
    subprocess.run([*git, "-c", "init.defaultBranch=pilot-base", "init", "-q"], check=True)
    subprocess.run([*git, "config", "user.name", name], check=True)
    subprocess.run([*git, "config", "user.email", email], check=True)
    with open(".git/info/exclude", "w") as f:
        f.write(exclude + "\n")
    fi = subprocess.Popen([*git, "fast-import", "--quiet", "--done"], stdin=subprocess.PIPE)
    assert fi.stdin is not None
    w = fi.stdin.write
    entries: list[tuple[bytes, bytes]] = []
    for top, dirs, files in os.walk(b"."):
        if top == b".":
            dirs[:] = [d for d in dirs if d != b".git"]
        for entry in files + dirs:
            path = os.path.join(top, entry)[2:]
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                mode, data = b"120000", os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                mode = b"100755" if st.st_mode & 0o100 else b"100644"
                with open(path, "rb") as f:
                    data = f.read()
            else:
                continue
            entries.append((mode, path))
            w(b"blob\nmark :%d\ndata %d\n" % (len(entries), len(data)))
            w(data)
            w(b"\n")
    who = b"%s <%s> %d +0000" % (name.encode(), email.encode(), int(time.time()))
    w(b"commit refs/heads/pilot-base\ncommitter %s\ndata 11\npilot: base\n" % who)
    for mark, (mode, path) in enumerate(entries, 1):
        w(b"M %s :%d %s\n" % (mode, mark, quote(path)))
    w(b"done\n")
    fi.stdin.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run([*git, "read-tree", "HEAD"], check=True)
    subprocess.run([*git, "update-index", "-q", "--refresh"], check=True)
    subprocess.run([*git, "rev-parse", "HEAD"], check=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])
