"""`.github/pilot.yml`: the repository's own settings for runs, every one optional.

Problems are reported by line and field so that one issue comment can tell a maintainer exactly
what to fix; the bot does nothing else with an invalid file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

CONFIG_PATH = ".github/pilot.yml"
MAX_CONFIG_BYTES = 64 * 1024
MAX_PROBLEMS = 20

Command = Annotated[str, Field(min_length=1, max_length=4000)]
# GitHub logins: letters, digits and single hyphens, at most 39 characters.
Login = Annotated[str, Field(pattern=r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}$")]


class RepoConfig(BaseModel):
    """Settings from `.github/pilot.yml`; the defaults are what a repository without one gets."""

    # strict: YAML already gives real bools and ints, so "30" or "yes please" are mistakes.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    setup: list[Command] = Field(default_factory=list, max_length=50)
    test: Command | None = None
    image: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^\S+$")] | None = None
    network_during_setup: bool = False
    plan_approval: bool = False
    max_steps: int = Field(default=30, ge=1, le=200)
    max_ci_attempts: int = Field(default=3, ge=0, le=10)  # 0: report CI failures, fix none
    max_tokens: int = Field(default=400_000, ge=1_000, le=10_000_000)
    max_minutes: int = Field(default=30, ge=1, le=360)
    allowed_users: list[Login] = Field(default_factory=list, max_length=200)
    # Where the work goes before a writer has seen it: `auto` holds it on refs/pilot/<n> when
    # someone without write access wrote what the agent worked from (docs/security.md).
    hold: Literal["auto", "always", "never"] = "auto"
    # `.github/workflows/`: GitHub refuses those pushes from an App without the `workflows`
    # permission, which the manifest leaves out. `allowed` lets the agent change them, for an
    # App a maintainer gave that permission; a push GitHub still refuses becomes a question.
    workflows: Literal["read-only", "allowed"] = "read-only"
    # `auto`: a run whose change makes the README or docs untrue (a flag, a public name, a
    # config key they mention) ends with a `docs` requirement that updates them in the same PR.
    docs: Literal["auto", "never"] = "auto"
    # Candidates per requirement (bot/run/candidates.py): `failing` tries more only when the
    # test command fails after the first; `always` tries every requirement `attempts` times.
    attempts: int = Field(default=1, ge=1, le=5)
    attempts_on: Literal["failing", "always"] = "failing"

    @property
    def setup_given(self) -> bool:
        """Whether the file lists `setup` at all: `setup: []` turns set-up detection off, where
        no `setup` leaves it on (bot/run/setup_detect.py)."""
        return "setup" in self.model_fields_set

    def allows(self, login: str) -> bool:
        """Whether `login` may drive runs, on top of the write-permission check."""
        if not self.allowed_users:
            return True
        return login.lower() in {user.lower() for user in self.allowed_users}


@dataclass(frozen=True)
class ConfigProblem:
    line: int | None  # 1-based; None when the problem has no place in the file
    field: str | None  # such as `max_steps` or `setup[1]`; None for a syntax error
    message: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.field:
            where.append(f"`{self.field}`")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class RepoConfigError(ValueError):
    """The file is not valid; `problems` holds each one with its line and field."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"- {problem}" for problem in problems)
        super().__init__(f"{CONFIG_PATH} is not valid:\n{lines}")


def parse_repo_config(text: str | None) -> RepoConfig:
    """The config in `text` (the file's content; None when there is no file)."""
    if text is None or not text.strip():
        return RepoConfig()
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise RepoConfigError([ConfigProblem(None, None, "the file is larger than 64 KiB")])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)  # SafeLoader: plain YAML types only, no arbitrary tags
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = "; ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise RepoConfigError([ConfigProblem(line, None, f"YAML syntax error: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise RepoConfigError([ConfigProblem(None, None, f"YAML error: {exc}")]) from None
    if data is None:
        return RepoConfig()
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        line = root.start_mark.line + 1 if root is not None else 1
        message = "the file must be a mapping of settings, such as `max_steps: 30`"
        raise RepoConfigError([ConfigProblem(line, None, message)])
    problems = _duplicate_keys(root)
    try:
        config = RepoConfig.model_validate(data)
    except ValidationError as exc:
        problems += [_problem(root, error) for error in exc.errors()]
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.field or ""))
        raise RepoConfigError(problems[:MAX_PROBLEMS])
    return config


_PATTERN_HINTS = {
    "image": "must be an image name without spaces, such as `python:3.11`",
    "allowed_users": "must be a GitHub login (letters, digits and single hyphens, no `@`)",
}


def _problem(root: yaml.MappingNode, error: Any) -> ConfigProblem:
    location = tuple(error["loc"])
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message = f"unknown setting (known ones: {', '.join(RepoConfig.model_fields)})"
    elif error["type"] == "string_pattern_mismatch" and str(location[0]) in _PATTERN_HINTS:
        message = _PATTERN_HINTS[str(location[0])]
    elif error["type"].endswith("_type"):
        message = f"{message}, not {_yaml_kind(error['input'])}"
    return ConfigProblem(_line_of(root, location), field.lstrip(".") or None, message)


def _yaml_kind(value: Any) -> str:
    """What a maintainer wrote, in YAML's words."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"the number `{value}`"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _line_of(root: yaml.Node, location: tuple[Any, ...]) -> int | None:
    """The line of the deepest node on `location`: the key for a setting, the item in a list."""
    node: yaml.Node = root
    line: int | None = None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _duplicate_keys(root: yaml.MappingNode) -> list[ConfigProblem]:
    # PyYAML keeps the last of two equal keys silently; a maintainer should hear about it.
    seen: set[str] = set()
    problems = []
    for key, _ in root.value:
        if isinstance(key, yaml.ScalarNode):
            if key.value in seen:
                message = "set twice; only one value may be given"
                problems.append(ConfigProblem(key.start_mark.line + 1, key.value, message))
            seen.add(key.value)
    return problems
