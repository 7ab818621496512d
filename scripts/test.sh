#!/usr/bin/env bash
# The test command: set up (install, start services, build the sandbox image), then run pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
. "$ROOT/scripts/lib.sh"
ensure_uv
set -a; . "$ROOT/.run/env"; set +a
cd "$ROOT"
exec uv run --frozen pytest "$@"
