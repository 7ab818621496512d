"""Indentation."""


def indent(text: str, prefix: str = "  ") -> str:
    """Every non-empty line of `text` prefixed with `prefix`."""
    return "\n".join(prefix + line if line.strip() else line for line in text.split("\n"))
