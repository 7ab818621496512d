"""Renders prompts and comments from `prompts/*.md.j2` with one strict jinja2 environment."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.core.inert import fence_for, neutralise_lines

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(PROMPTS_DIR),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    # Comments quote text the bot does not control: `inert` for prose, `fence` for code.
    env.filters["inert"] = neutralise_lines
    env.filters["fence"] = fence_for
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context).strip() + "\n"


@cache
def page_environment(directory: Path) -> Environment:
    """HTML pages the bot serves (`setup`'s, the dashboard's): text from issues and commands
    is untrusted there, so everything is escaped."""
    return Environment(
        loader=FileSystemLoader(directory),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
