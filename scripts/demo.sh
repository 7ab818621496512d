#!/usr/bin/env bash
# The demo: sets up what is missing (services, the sandbox image, dependencies and, without
# PILOT_LLM_BASE_URL, the embedded model), then runs `issue-pilot demo`. Arguments go to it
# (`--exit` stops everything after the verdict instead of staying up until Ctrl-C;
# `--scripted` answers with a scripted model that solves the issue, the green path offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
. "$ROOT/scripts/lib.sh"
ensure_uv
set -a; . "$ROOT/.run/env"; set +a
case " $* " in
    *" --scripted "*) ;;  # the scripted model runs inside the demo
    *) [ -n "${PILOT_LLM_BASE_URL:-}" ] || bash "$ROOT/scripts/local_model.sh" ;;
esac
cd "$ROOT"
exec uv run --frozen issue-pilot demo --redis-url "${PILOT_TEST_REDIS_URL%/*}/2" "$@"
