# Sourced by the scripts: puts uv on PATH, installing it with pip when it is missing.
ensure_uv() {
    command -v uv >/dev/null 2>&1 && return 0
    local scripts_dir
    scripts_dir="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
    # pip may put uv where PATH does not look yet (a pyenv without rehash, ~/.local/bin).
    export PATH="$scripts_dir:$HOME/.local/bin:$PATH"
    command -v uv >/dev/null 2>&1 && return 0
    printf '[setup] pip install uv\n' >&2
    python3 -m pip install -q uv
    command -v pyenv >/dev/null 2>&1 && pyenv rehash 2>/dev/null
    command -v uv >/dev/null 2>&1
}
