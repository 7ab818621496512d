"""Turning tool output into observations the model can afford to read."""

from __future__ import annotations

from bot.core.text import cut
from bot.sandbox.api import CommandResult


def command_observation(result: CommandResult, limit: int) -> str:
    """What the model reads after `run_command`: exit status, timing and the (cut) output."""
    if result.timed_out:
        status = "timed out (killed)"
    else:
        status = f"exit code {result.exit_code}"
    lines = [f"{status} after {result.duration_s:.1f}s"]
    if result.output_bytes > len(result.output.encode("utf-8", errors="replace")):
        lines.append(f"(the command wrote {result.output_bytes} bytes; the sandbox kept less)")
    output = result.output.replace("\x00", "")
    lines.append(cut(output, limit) if output else "(no output)")
    return "\n".join(lines)
