#!/usr/bin/env bash
# The test command: set up (install, start services, build the sandbox image), check the rooms'
# import contracts (pyproject.toml's [tool.importlinter]), then run pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
. "$ROOT/scripts/lib.sh"
ensure_uv
set -a; . "$ROOT/.run/env"; set +a
cd "$ROOT"
# A broken contract fails the run before any test; --no-cache leaves no cache dir in the tree.
uv run --frozen lint-imports --no-cache
exec uv run --frozen pytest "$@"
