from __future__ import annotations

from bot.agent.observations import command_observation
from bot.core.text import cut, decode
from bot.sandbox.api import CommandResult


def test_short_text_is_kept() -> None:
    assert cut("hello", 10) == "hello"


def test_long_text_keeps_head_and_tail_and_says_how_much_was_cut() -> None:
    text = "HEAD" + "x" * 10_000 + "TAIL"
    out = cut(text, 100)
    assert out.startswith("HEAD") and out.endswith("TAIL")
    assert "[... 9908 characters cut ...]" in out
    assert len(out) < 150


def test_decode_survives_binary() -> None:
    text = decode(b"ok \xff\xfe\x00 done")
    assert text.startswith("ok ") and text.endswith(" done") and "\x00" not in text
    text.encode("utf-8")


def test_command_observation() -> None:
    ok = CommandResult("ls", 0, "a\nb\n", False, 1.25, 4)
    assert command_observation(ok, 100) == "exit code 0 after 1.2s\na\nb\n"
    killed = CommandResult("sleep 9", None, "", True, 30.0, 0)
    assert command_observation(killed, 100) == "timed out (killed) after 30.0s\n(no output)"


def test_command_observation_mentions_output_the_sandbox_dropped() -> None:
    result = CommandResult("yes", 1, "y\n" * 10, False, 0.5, 1_000_000)
    assert "wrote 1000000 bytes" in command_observation(result, 100)
