"""What a run reads from the repository's own files in its checkout: the instructions for agents
(AGENTS.md and the like, bot/agent/instructions.py), once a session, from the base branch's tip;
and the set-up a session runs, `setup` from .github/pilot.yml or, without one, the set-up the
files at head call for (bot/run/setup_detect.py)."""

from __future__ import annotations

from bot.agent.instructions import INSTRUCTION_FILES, MAX_READ_BYTES, instructions_text
from bot.core.text import decode
from bot.github.checkout import Checkout
from bot.run.kernel import KernelHost, Run
from bot.run.setup_detect import MAX_MANIFEST_BYTES, DetectedSetup, detect_setup, setup_inputs
from bot.run.state import RunState


async def read_instructions(run: Run[KernelHost], checkout: Checkout) -> str:
    """The repository's instructions, bounded, as the planner and the agent get them. From the
    base branch, not the branch: what the run itself wrote there is not the repository's word."""
    if run.instructions is None:
        files: list[tuple[str, str]] = []
        for places in INSTRUCTION_FILES:
            for path in places:
                data = await checkout.file_at(checkout.base_tip, path)
                if data is not None:
                    files.append((path, decode(data[:MAX_READ_BYTES])))
                    break
        run.instructions = instructions_text(files)
        if files:
            run.record(
                kind="instructions", files=[p for p, _ in files], chars=len(run.instructions)
            )
    return run.instructions


async def session_setup(run: Run[KernelHost], state: RunState, checkout: Checkout) -> list[str]:
    """The set-up commands this session runs: the config's `setup` when it lists one (`setup: []`
    included); otherwise those the repository's files call for, when the config allows network
    during set-up. Detected ones are recorded either way; unrun, the PR body offers them."""
    state.detected_setup = None
    if run.config.setup_given:
        return list(run.config.setup)
    found = await _detected(checkout)
    if not found.commands:
        return []
    ran = run.config.network_during_setup
    state.detected_setup = {
        "commands": list(found.commands),
        "sources": list(found.sources),
        "ran": ran,
    }
    run.record(
        kind="setup_detected", commands=list(found.commands), sources=list(found.sources), ran=ran
    )
    return list(found.commands) if ran else []


async def _detected(checkout: Checkout) -> DetectedSetup:
    # At head: the commands run on the workspace, which holds head.
    paths = await checkout.paths()
    files: dict[str, str] = {}
    for path in setup_inputs(paths):
        data = await checkout.file_at_head(path)
        if data is not None:
            files[path] = decode(data[:MAX_MANIFEST_BYTES])
    return detect_setup(paths, files)
