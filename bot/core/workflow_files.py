"""Workflow files (`.github/workflows/*`), which GitHub lets no App push without the
`workflows` permission: the manifest does not ask for it, so the agent must leave them alone.

GitHub refuses such a push with "refusing to allow a GitHub App to create or update workflow
`<path>` without `workflows` permission" (the App permission "Workflows", documented at
https://docs.github.com/en/rest/authentication/permissions-required-for-github-apps).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

WORKFLOWS_DIR = ".github/workflows/"
# What git's report says for a refused ref, whatever the file.
PUSH_REFUSAL = "without `workflows` permission"


def is_workflow_file(path: str, workspace: str = "/workspace") -> bool:
    """Whether `path` (relative to the checkout, or absolute under `workspace`) lies in
    `.github/workflows/`, however it is spelled (`./`, `//`, `a/../`)."""
    if path.startswith(workspace.rstrip("/") + "/"):
        path = path[len(workspace.rstrip("/")) + 1 :]
    normal = posixpath.normpath(path.lstrip("/"))
    return (normal + "/").startswith(WORKFLOWS_DIR)


def workflow_files(paths: Iterable[str]) -> list[str]:
    return sorted({p for p in paths if is_workflow_file(p)})


def tool_refusal(path: str) -> str:
    """What the agent is told when a file tool would change a workflow file."""
    return (
        f"{path} is under `{WORKFLOWS_DIR}`, which is read-only here: GitHub refuses a push "
        "that changes workflow files from an App without the `workflows` permission. Leave "
        "workflow files as they are; if the requirement cannot be met without changing one, "
        "call `ask_human` and say what change a maintainer should make."
    )
