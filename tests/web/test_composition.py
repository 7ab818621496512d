"""The web app is composed at the entry point: building it loads no handler, run engine,
agent, sandbox or heavy client, and only `bot.cli` imports `handlers`."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the request path must never load: it only verifies, caps, dedupes and queues.
NOT_LOADED_BY_WEB = [
    "handlers",
    "bot.run",
    "bot.agent",
    "bot.sandbox",
    "docker",
    "openai",
    "githubkit",
]
_PROBE = """
import json, sys
import bot.web.app
prefixes = json.loads(sys.argv[1])
print(json.dumps(sorted(
    m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in prefixes)
)))
"""


def test_importing_the_web_app_loads_no_handler_engine_or_heavy_client() -> None:
    # A fresh interpreter: this test process has long since imported everything.
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(NOT_LOADED_BY_WEB)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def _imports_handlers(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "handlers" or name.startswith("handlers.") for name in names):
            return True
    return False


def test_only_the_cli_imports_handlers() -> None:
    importers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "bot").rglob("*.py")
        if _imports_handlers(path)
    )
    assert importers == ["bot/cli.py"]
