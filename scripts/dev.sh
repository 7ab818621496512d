#!/usr/bin/env bash
# Runs Issue Pilot locally against ghsim: the local GitHub, the web app and a worker, wired
# together from the App that ghsim writes on its first start. Ctrl-C stops the three of them,
# and only them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIM_PORT="${PILOT_DEV_SIM_PORT:-3000}"
WEB_PORT="${PILOT_DEV_WEB_PORT:-8000}"
DATA="$ROOT/.run/ghsim"

bash "$ROOT/scripts/setup.sh"
. "$ROOT/scripts/lib.sh"
ensure_uv
set -a; . "$ROOT/.run/env"; set +a
cd "$ROOT"

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

mkdir -p "$DATA"
uv run --frozen issue-pilot sim --host 127.0.0.1 --port "$SIM_PORT" --data-dir "$DATA" \
    --webhook-url "http://127.0.0.1:$WEB_PORT/webhooks/github" >"$ROOT/.run/ghsim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$DATA/app.json" ] && break; sleep 0.1; done
[ -s "$DATA/app.json" ] || { echo "ghsim did not start; see .run/ghsim.log" >&2; exit 1; }

app_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$DATA/app.json" "$1"; }
export PILOT_GITHUB_API_URL="http://127.0.0.1:$SIM_PORT/api/v3"
PILOT_GITHUB_APP_ID="$(app_field app_id)"; export PILOT_GITHUB_APP_ID
PILOT_GITHUB_WEBHOOK_SECRET="$(app_field webhook_secret)"; export PILOT_GITHUB_WEBHOOK_SECRET
export PILOT_GITHUB_PRIVATE_KEY_PATH="$DATA/app.pem"
export PILOT_REDIS_URL="${PILOT_TEST_REDIS_URL%/*}/1"

uv run --frozen issue-pilot serve --host 127.0.0.1 --port "$WEB_PORT" >"$ROOT/.run/web.log" 2>&1 &
pids+=($!)
uv run --frozen issue-pilot worker >"$ROOT/.run/worker.log" 2>&1 &
pids+=($!)

cat <<MSG
Issue Pilot is running locally.
  ghsim (a local GitHub):  http://127.0.0.1:$SIM_PORT/   REST at $PILOT_GITHUB_API_URL
  web app (webhooks):      http://127.0.0.1:$WEB_PORT/healthz
  logs:                    .run/ghsim.log  .run/web.log  .run/worker.log
A person is any token ghp_sim_<login>; for example, as alice:
  curl -s -H 'Authorization: token ghp_sim_alice' -d '{"name":"hello","auto_init":true}' $PILOT_GITHUB_API_URL/user/repos
  curl -s -H 'Authorization: token ghp_sim_alice' -d '{"title":"Fix the greeting"}' $PILOT_GITHUB_API_URL/repos/alice/hello/issues
  curl -s -H 'Authorization: token ghp_sim_alice' -d '{"labels":["pilot"]}' $PILOT_GITHUB_API_URL/repos/alice/hello/issues/1/labels
then open http://127.0.0.1:$SIM_PORT/alice/hello/issues/1 to see the bot's answer. Ctrl-C stops.
MSG
wait -n "${pids[@]}"
echo "a process stopped; see the logs in .run/" >&2
