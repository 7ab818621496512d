"""Which pushes go through ``workflow_hook.py``, and the environment that sends them there.

An installation token without the ``workflows`` permission pushes with git's ``proc-receive``
hook on every ref (``receive.procReceiveRefs=refs/``, ``core.hooksPath`` = a hook directory in
the data dir), so a refused ref gets GitHub's own reason in git's report-status; people's
tokens and other Apps' tokens push untouched.
"""

from __future__ import annotations

import functools
import shlex
import sys
from pathlib import Path

from ghsim import workflow_hook
from ghsim.auth import Caller


def guarded(caller: Caller) -> bool:
    return caller.kind == "installation" and not caller.workflows


@functools.cache
def hooks_dir(data_dir: Path) -> Path:
    """``<data_dir>/git-hooks`` holding ``proc-receive``, written once per process (the
    interpreter and ghsim's place can change between starts)."""
    directory = Path(data_dir) / "git-hooks"
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / "proc-receive"
    script = Path(workflow_hook.__file__).resolve()
    hook.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(script))}\n")
    hook.chmod(0o755)
    return directory


def guard_env(data_dir: Path) -> dict[str, str]:
    """git configuration, through the environment, that routes every ref to the hook."""
    return {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "core.hooksPath",
        "GIT_CONFIG_VALUE_0": str(hooks_dir(data_dir)),
        "GIT_CONFIG_KEY_1": "receive.procReceiveRefs",
        "GIT_CONFIG_VALUE_1": "refs/",
    }
