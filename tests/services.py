"""Finds the real services the tests use; under CI=true a missing one fails instead of skipping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run_env() -> dict[str, str]:
    """What scripts/setup.sh wrote, so `uv run pytest` works without sourcing it."""
    env_file = ROOT / ".run" / "env"
    values: dict[str, str] = {}
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip()
    return values


def setting(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or _run_env().get(name) or default


def unavailable(what: str) -> None:
    """Skip on a laptop without the service; fail under CI, where set-up must have started it."""
    message = f"{what} is not available (run `make test`, which starts it)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)
