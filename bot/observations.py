"""Turning tool output into observations the model can afford to read."""

from __future__ import annotations

from bot.sandbox import CommandResult


def decode(data: bytes) -> str:
    """Text from bytes a command or file produced, whatever they hold.

    Invalid UTF-8 becomes U+FFFD and NUL bytes are dropped, so binary output never breaks
    JSON encoding of the conversation or the trajectory.
    """
    return data.decode("utf-8", errors="replace").replace("\x00", "")


def cut(text: str, limit: int) -> str:
    """`text` kept within about `limit` characters: its head and tail around a marker that
    says how much was cut (the tail usually holds the error, the head the command's context)."""
    if limit <= 0 or len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    removed = len(text) - head - tail
    return f"{text[:head]}\n[... {removed} characters cut ...]\n{text[len(text) - tail :]}"


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
