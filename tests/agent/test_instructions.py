"""The repository's instructions as the prompts get them: in order, each under its path, the
whole within its bound, a cut file saying so."""

from __future__ import annotations

import random

from bot.agent.instructions import (
    INSTRUCTION_FILES,
    MAX_INSTRUCTIONS_CHARS,
    MIN_SHARE_CHARS,
    instructions_text,
)

AGENTS = """# Agent notes

- Run the tests with `python -m unittest discover -s tests`.
- Keep functions small; no new dependencies.
"""
CONTRIBUTING = """# Contributing

Open an issue first. Every change needs a test. Format with black.
"""


def long_text(name: str, lines: int) -> str:
    return "".join(
        f"{name} rule {i}: keep the public API stable and documented.\n" for i in range(lines)
    )


def test_agents_md_comes_first_and_each_file_is_under_its_path() -> None:
    assert INSTRUCTION_FILES[0][0] == "AGENTS.md"
    assert [places[0] for places in INSTRUCTION_FILES] == [
        "AGENTS.md", "CLAUDE.md", ".github/copilot-instructions.md", "CONTRIBUTING.md",
    ]  # fmt: skip

    text = instructions_text([("AGENTS.md", AGENTS), ("CONTRIBUTING.md", CONTRIBUTING)])

    assert text == f"### AGENTS.md\n{AGENTS.strip()}\n\n### CONTRIBUTING.md\n{CONTRIBUTING.strip()}"
    assert "is cut here" not in text


def test_no_files_or_empty_ones_give_nothing() -> None:
    assert instructions_text([]) == ""
    assert instructions_text([("AGENTS.md", "  \n\n"), ("CLAUDE.md", "")]) == ""


def test_a_long_file_is_cut_with_a_note_and_the_whole_stays_within_the_bound() -> None:
    agents = long_text("agents", 400)  # about 24,000 characters

    text = instructions_text([("AGENTS.md", agents), ("CONTRIBUTING.md", CONTRIBUTING)])

    assert len(text) <= MAX_INSTRUCTIONS_CHARS
    assert text.startswith("### AGENTS.md\nagents rule 0:")
    assert "agents rule 399" not in text
    cut_note = text.split("\n\n### CONTRIBUTING.md")[0].splitlines()[-1]
    assert cut_note.startswith("[... AGENTS.md is cut here: ")
    assert cut_note.endswith("more characters; read the file for the rest]")
    # Cut at a line's end, and the short file after it is whole.
    assert text.split("\n[... AGENTS.md")[0].endswith("documented.")
    assert text.endswith(CONTRIBUTING.strip())


def test_a_long_first_file_leaves_room_for_every_later_one() -> None:
    files = [
        ("AGENTS.md", long_text("agents", 300)),
        ("CLAUDE.md", long_text("claude", 300)),
        (".github/copilot-instructions.md", long_text("copilot", 300)),
        ("CONTRIBUTING.md", long_text("contributing", 300)),
    ]

    text = instructions_text(files)

    assert len(text) <= MAX_INSTRUCTIONS_CHARS
    for path, _ in files:
        assert f"### {path}\n" in text
        assert f"[... {path} is cut here: " in text
    later = text.split("### CONTRIBUTING.md\n", 1)[1]
    assert len(later) >= MIN_SHARE_CHARS - 200
    # The first file has the most room.
    assert text.index("### CLAUDE.md") > MAX_INSTRUCTIONS_CHARS // 3


def test_a_file_that_repeats_or_points_at_another_is_left_out() -> None:
    files = [
        ("AGENTS.md", AGENTS),
        ("CLAUDE.md", "@AGENTS.md\n"),  # Claude Code's import of the other file
        (".github/copilot-instructions.md", AGENTS.replace("\n", "\r\n")),  # the same text
        ("CONTRIBUTING.md", CONTRIBUTING),
    ]

    text = instructions_text(files)

    assert "### CLAUDE.md" not in text and "### .github/copilot-instructions.md" not in text
    assert text.count("Agent notes") == 1 and "### CONTRIBUTING.md" in text


def test_whatever_the_sizes_the_text_stays_within_its_bound() -> None:
    rng = random.Random(17)
    for _ in range(200):
        files = [
            (places[0], "x" * rng.randint(0, 9_000) + "\n" + "y" * rng.randint(0, 200))
            for places in INSTRUCTION_FILES
            if rng.random() < 0.8
        ]
        limit = rng.choice([1_000, 3_000, MAX_INSTRUCTIONS_CHARS])
        text = instructions_text(files, limit)
        assert len(text) <= limit, [len(t) for _, t in files]
