#!/usr/bin/env bash
# Installs the agents bench/solve.py measures ours against, each into a virtual environment of
# its own under .run/peers (their dependencies clash with each other and with the project's):
# mini-swe-agent in .run/peers/mini, aider in .run/peers/aider. Once; a ready one is left alone.
#     bash scripts/peers.sh [mini] [aider]      (both when none is named)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="${PILOT_PEERS_DIR:-$ROOT/.run/peers}"
MINI="mini-swe-agent==2.4.6"
AIDER="aider-chat==0.86.2"
log() { printf '[peers] %s\n' "$*" >&2; }
. "$ROOT/scripts/lib.sh"
ensure_uv

# The import each one's command needs, so a half-finished install is done again.
ready() {
    case "$1" in
        mini) "$PEERS/mini/bin/python" -c "import minisweagent, litellm" >/dev/null 2>&1 ;;
        aider) "$PEERS/aider/bin/python" -c "import aider.main" >/dev/null 2>&1 ;;
    esac
}

install() {
    local name="$1" spec="$2" venv="$PEERS/$1"
    ready "$name" && return 0
    log "installing $spec into $venv"
    rm -rf "$venv"
    mkdir -p "$PEERS"
    uv venv -q --python python3.11 "$venv"
    uv pip install -q --python "$venv/bin/python" "$spec" >"$PEERS/$name-install.log" 2>&1 || {
        log "installing $spec failed; see $PEERS/$name-install.log"
        tail -20 "$PEERS/$name-install.log" >&2
        exit 1
    }
    ready "$name" || { log "$spec does not import from $venv"; exit 1; }
    log "ready: $venv"
}

wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(mini aider)
for name in "${wanted[@]}"; do
    case "$name" in
        mini) install mini "$MINI" ;;
        aider) install aider "$AIDER" ;;
        *) log "no peer called $name: mini or aider"; exit 2 ;;
    esac
done
