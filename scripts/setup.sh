#!/usr/bin/env bash
# Installs and starts what Issue Pilot needs on a Debian 12 machine, idempotently:
# uv, redis-server, docker.io, debootstrap and git; a Redis and a dockerd of its own when none
# answers; the sandbox base image when it is absent; the Python dependencies.
# Writes what it found or started to .run/env for the tests and the demo. Kills nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$ROOT/.run"
mkdir -p "$RUN_DIR"

REDIS_PORT="${PILOT_DEV_REDIS_PORT:-6390}"
SANDBOX_IMAGE="${PILOT_SANDBOX_IMAGE:-issue-pilot-sandbox:bookworm-1}"
DEBIAN_MIRROR="${PILOT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
OWN_DOCKER_SOCK=/run/issue-pilot/docker.sock

log() { printf '[setup] %s\n' "$*" >&2; }
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

ensure_packages() {
    # chromium: the dashboard's browser test drives Debian's build; no browser is downloaded.
    # docker-compose: Debian's (v1) runs docker-compose.yml where the compose plugin is absent.
    apt_install redis-server docker.io docker-compose debootstrap git iptables ca-certificates \
        make chromium
    ensure_uv || { log "uv could not be installed"; exit 1; }
    # Debian's redis-server package starts a system Redis on 6379: it is not ours, so we leave it.
}

ensure_redis() {
    if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        return 0
    fi
    log "starting redis-server on port $REDIS_PORT"
    mkdir -p "$RUN_DIR/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
        --dir "$RUN_DIR/redis" --pidfile "$RUN_DIR/redis/redis.pid" \
        --logfile "$RUN_DIR/redis/redis.log" --save "" --appendonly no >/dev/null
    for _ in $(seq 1 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log "redis-server did not answer on port $REDIS_PORT; see $RUN_DIR/redis/redis.log"
    exit 1
}

docker_answers() { DOCKER_HOST="$1" docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ensure_docker() {
    if [ -n "${DOCKER_HOST:-}" ] && docker_answers "$DOCKER_HOST"; then
        DOCKER_URL="$DOCKER_HOST"; return 0
    fi
    for url in "unix:///var/run/docker.sock" "unix://$OWN_DOCKER_SOCK"; do
        if docker_answers "$url"; then DOCKER_URL="$url"; return 0; fi
    done
    need_root dockerd
    log "starting dockerd on $OWN_DOCKER_SOCK"
    mkdir -p /run/issue-pilot /var/lib/issue-pilot/docker
    nohup dockerd --host "unix://$OWN_DOCKER_SOCK" --pidfile /run/issue-pilot/docker.pid \
        --data-root /var/lib/issue-pilot/docker --exec-root /run/issue-pilot/docker-exec \
        >"$RUN_DIR/dockerd.log" 2>&1 &
    for _ in $(seq 1 150); do
        if docker_answers "unix://$OWN_DOCKER_SOCK"; then DOCKER_URL="unix://$OWN_DOCKER_SOCK"; return 0; fi
        sleep 0.2
    done
    log "dockerd did not start; see $RUN_DIR/dockerd.log"
    tail -20 "$RUN_DIR/dockerd.log" >&2 || true
    exit 1
}

ensure_sandbox_image() {
    if DOCKER_HOST="$DOCKER_URL" docker image inspect "$SANDBOX_IMAGE" >/dev/null 2>&1; then
        return 0
    fi
    need_root debootstrap
    local dir
    dir="$(mktemp -d /var/tmp/pilot-rootfs.XXXXXX)"
    log "building $SANDBOX_IMAGE with debootstrap from $DEBIAN_MIRROR (about a minute)"
    debootstrap --variant=minbase --include=python3,git,ca-certificates bookworm "$dir" \
        "$DEBIAN_MIRROR" >"$RUN_DIR/debootstrap.log" 2>&1 || {
        log "debootstrap failed; see $RUN_DIR/debootstrap.log"; tail -20 "$RUN_DIR/debootstrap.log" >&2
        rm -rf "$dir"; exit 1; }
    # An unprivileged user for the agent and CI jobs; minbase has no useradd, so edit the files.
    echo "pilot:x:1000:1000:pilot:/home/pilot:/bin/bash" >>"$dir/etc/passwd"
    echo "pilot:x:1000:" >>"$dir/etc/group"
    echo "pilot:!:19000:0:99999:7:::" >>"$dir/etc/shadow"
    mkdir -p "$dir/home/pilot" "$dir/workspace"
    chown 1000:1000 "$dir/home/pilot" "$dir/workspace"
    rm -rf "$dir/var/cache/apt/archives/"*.deb "$dir/var/lib/apt/lists/"*
    tar -C "$dir" -c . | DOCKER_HOST="$DOCKER_URL" docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' --change 'WORKDIR /workspace' \
        --change 'CMD ["/bin/bash"]' - "$SANDBOX_IMAGE" >/dev/null
    rm -rf "$dir"
}

# Set-up commands (network_during_setup) may reach the internet but not the host: whatever
# arrives from the set-up network's bridge addressed to the host itself is refused, while
# traffic to anywhere else is forwarded and never meets INPUT. The backend makes the network
# (bot/sandbox/setup_network.py); the rule names its bridge, so it can come first.
SETUP_BRIDGE=pilot-setup0
ensure_setup_firewall() {
    if [ "$(id -u)" -ne 0 ]; then
        log "not root: set-up containers can reach this host until root runs this script"
        return 0
    fi
    local tool
    for tool in iptables ip6tables; do
        command -v "$tool" >/dev/null 2>&1 || continue
        "$tool" -C INPUT -i "$SETUP_BRIDGE" -j REJECT 2>/dev/null && continue
        # ip6tables may find no IPv6 in the kernel: then there is nothing to close either.
        "$tool" -I INPUT 1 -i "$SETUP_BRIDGE" -j REJECT ||
            { log "$tool could not close the host to $SETUP_BRIDGE"; [ "$tool" = ip6tables ] || exit 1; }
    done
}

write_env() {
    cat >"$RUN_DIR/env" <<ENV
PILOT_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
DOCKER_HOST=$DOCKER_URL
PILOT_SANDBOX_IMAGE=$SANDBOX_IMAGE
ENV
}

ensure_packages
ensure_redis
ensure_docker
ensure_sandbox_image
ensure_setup_firewall
write_env
# Precompiled: a start-up without bytecode spends most of a second compiling dependencies.
(cd "$ROOT" && uv sync --frozen -q --compile-bytecode)
log "ready: redis :$REDIS_PORT, docker $DOCKER_URL, image $SANDBOX_IMAGE"
