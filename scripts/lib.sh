# Sourced by the scripts: puts uv on PATH, installing it when it is missing; installs Debian
# packages that are missing. The sourcing script defines `log`.
UV_VENV=/opt/issue-pilot/uv

ensure_uv() {
    local scripts_dir
    scripts_dir="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)"
    # pip may put uv where PATH does not look yet (a pyenv without rehash, ~/.local/bin).
    export PATH="$UV_VENV/bin:${scripts_dir:+$scripts_dir:}$HOME/.local/bin:$PATH"
    command -v uv >/dev/null 2>&1 && return 0
    printf '[setup] installing uv\n' >&2
    # A Python with its own pip (pyenv, python.org) takes it directly; Debian's marks itself
    # externally managed (PEP 668) and has no pip, so uv gets a venv of its own there.
    if python3 -m pip install -q uv 2>/dev/null; then
        command -v pyenv >/dev/null 2>&1 && pyenv rehash 2>/dev/null
        command -v uv >/dev/null 2>&1 && return 0
    fi
    if ! python3 -c 'import ensurepip' 2>/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            python3-venv >/dev/null || { apt-get update -q >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                python3-venv >/dev/null; }
    fi
    python3 -m venv "$UV_VENV" && "$UV_VENV/bin/pip" install -q uv
    command -v uv >/dev/null 2>&1
}

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        log "installing $1 needs root; run as root or install it yourself"
        exit 1
    fi
}

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    need_root "${missing[*]}"
    log "apt-get install ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
}
