"""A short map of a repository from its file paths, for the agent's first look."""

from __future__ import annotations

from collections import Counter

# Files that tell the agent how the project is built, tested and described.
NOTABLE = (
    "README",
    "README.md",
    "README.rst",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "package.json",
    "Cargo.toml",
    "go.mod",
    "Makefile",
    "Dockerfile",
    "tox.ini",
    "pytest.ini",
    "noxfile.py",
    ".github/pilot.yml",
)


def repo_map(paths: list[str], max_lines: int = 60) -> str:
    """Top-level files, top-level directories with file counts, notable files and CI
    workflows; deterministic, at most `max_lines` lines."""
    clean = sorted({p.strip().removeprefix("./") for p in paths})
    clean = [p for p in clean if p and not p.startswith(".git/")]
    if not clean:
        return "(empty repository)"
    counts: Counter[str] = Counter()
    top_files: list[str] = []
    for path in clean:
        head, sep, _ = path.partition("/")
        if sep:
            counts[head] += 1
        else:
            top_files.append(path)
    lines = [f"{len(clean)} files."]
    if counts:
        lines.append("Directories (files inside):")
        lines += [f"  {name}/ ({counts[name]})" for name in sorted(counts)]
    if top_files:
        lines.append("Top-level files:")
        lines += [f"  {name}" for name in top_files]
    present = set(clean)
    nested = sorted(
        p for p in clean if "/" in p and p.rsplit("/", 1)[1] in NOTABLE and p not in NOTABLE
    )
    workflows = [p for p in clean if p.startswith(".github/workflows/")]
    notable = [p for p in NOTABLE if "/" in p and p in present] + nested[:10]
    if notable:
        lines.append("Notable files:")
        lines += [f"  {p}" for p in notable]
    if workflows:
        lines.append("CI workflows:")
        lines += [f"  {p}" for p in workflows]
    test_dirs = sorted(d for d in counts if d in ("test", "tests", "spec", "__tests__"))
    if test_dirs:
        lines.append("Tests live in: " + ", ".join(f"{d}/" for d in test_dirs))
    if len(lines) > max_lines:
        hidden = len(lines) - (max_lines - 1)
        lines = [*lines[: max_lines - 1], f"... ({hidden} more lines)"]
    return "\n".join(lines)
