from __future__ import annotations

from bot.agent.repo_map import repo_map

PATHS = [
    "README.md",
    "pyproject.toml",
    "src/pkg/__init__.py",
    "src/pkg/core.py",
    "tests/test_core.py",
    ".github/workflows/ci.yml",
    ".github/pilot.yml",
    "./Makefile",
    "web/package.json",
    ".git/HEAD",
]


def test_map_lists_dirs_files_and_notable_things() -> None:
    text = repo_map(PATHS)
    assert text.splitlines() == [
        "9 files.",
        "Directories (files inside):",
        "  .github/ (2)",
        "  src/ (2)",
        "  tests/ (1)",
        "  web/ (1)",
        "Top-level files:",
        "  Makefile",
        "  README.md",
        "  pyproject.toml",
        "Notable files:",
        "  .github/pilot.yml",
        "  web/package.json",
        "CI workflows:",
        "  .github/workflows/ci.yml",
        "Tests live in: tests/",
    ]


def test_map_is_deterministic_whatever_the_order() -> None:
    assert repo_map(list(reversed(PATHS))) == repo_map(PATHS)


def test_map_is_capped() -> None:
    text = repo_map([f"d{i}/f.py" for i in range(200)], max_lines=10)
    lines = text.splitlines()
    assert len(lines) == 10 and lines[-1].startswith("... (")


def test_empty() -> None:
    assert repo_map([]) == "(empty repository)"
