"""Set-up commands found in a repository's files when `.github/pilot.yml` lists no `setup:`, in
the way of gpt-pilot's environment set-up (pure): each is guarded by a check that the tool it
needs is in the sandbox image, and says so plainly when it is not. A project that declares no
dependencies (a stdlib-only one) gets none.

Only the workspace outlives the set-up container (each sandbox phase is a container of its own,
its HOME a tmpfs), so every command installs into it: Python into `.venv`, Node into
`node_modules`, Go and Rust into `vendor/`, Ruby into `vendor/bundle`. Set-up's leftovers there
never reach the agent's patch (bot/run/phases/work.py `_setup`).
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

# Read whole when present: every decision below rests on one of these, at the root only.
MANIFESTS = (
    "pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "package.json", "go.mod",
    "Cargo.toml", "Gemfile",
)  # fmt: skip
MAX_MANIFEST_BYTES = 256 * 1024
# requirements.txt and its dev and test siblings; docs or lint ones are not needed to test.
_REQUIREMENTS = re.compile(
    r"^(?:requirements(?:[-_.](?:dev|test|tests|testing|ci))?"
    r"|(?:dev|test|tests|testing)[-_]requirements)\.txt$"
)
_TEST_EXTRAS = ("test", "tests", "testing", "dev")
_PIP = ".venv/bin/python -m pip install --disable-pip-version-check"
# No `: ` in it: the suggested `setup:` stays plain YAML, unquoted.
_MISSING = "set-up needs {what}, which the sandbox image lacks (set image in .github/pilot.yml)"


@dataclass(frozen=True)
class DetectedSetup:
    commands: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # the files the commands come from


def setup_inputs(paths: Iterable[str]) -> list[str]:
    """The files whose contents `detect_setup` needs, of those in the tree."""
    return [p for p in paths if p in MANIFESTS or _REQUIREMENTS.match(p)]


def detect_setup(paths: Iterable[str], files: Mapping[str, str]) -> DetectedSetup:
    """The set-up `paths` (every file of the tree) and `files` (the contents of those
    `setup_inputs` named) call for."""
    tree = set(paths)
    found: list[tuple[str, list[str]]] = [
        *_python(tree, files),
        *_node(tree, files),
        *_go(tree, files),
        *_rust(tree, files),
        *_ruby(files),
    ]
    commands = tuple(command for _, lines in found for command in lines)
    sources = tuple(dict.fromkeys(source for source, _ in found))
    return DetectedSetup(commands, sources)


def guarded(check: str, what: str, command: str) -> str:
    """`command`, run only when `check` passes; otherwise a message that names what is missing
    and exit 127 (command not found)."""
    return f'{check} || {{ echo "{_MISSING.format(what=what)}" >&2; exit 127; }}; {command}'


def needs(tool: str, command: str) -> str:
    return guarded(f"command -v {tool} >/dev/null", tool, command)


def failure_reason(command: str, why: str) -> str:
    """What a failed detected command is reported as: where it came from, how to turn it off."""
    return (
        f"the detected set-up command `{command}` {why} (.github/pilot.yml has no `setup:`, so "
        "it came from the repository's files; list the right commands under `setup:`, or "
        "`setup: []` turns detection off)"
    )


def as_config(commands: Iterable[str]) -> str:
    """`commands` as the `setup:` of `.github/pilot.yml`, quoted as YAML needs."""
    text = yaml.safe_dump({"setup": list(commands)}, width=1_000_000, sort_keys=False)
    return str(text).strip()


# Python --------------------------------------------------------------------------------------
def _python(tree: set[str], files: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for name in sorted(p for p in tree if _REQUIREMENTS.match(p)):
        if _has_requirements(files.get(name, "")):
            found.append((name, [f"{_PIP} -r {name}"]))
    found.sort(key=lambda item: item[0] != "requirements.txt")
    package = _package(tree, files)
    if package:
        found.append(package)
    if not found and "Pipfile" in tree and _pipfile_has_packages(files.get("Pipfile", "")):
        sync = "sync" if "Pipfile.lock" in tree else "install"
        return [("Pipfile", [needs("pipenv", f"PIPENV_VENV_IN_PROJECT=1 pipenv {sync} --dev")])]
    if not found:
        return []
    venv = guarded(
        "python3 -c 'import venv, ensurepip' 2>/dev/null",
        "Python 3 with venv and pip",
        "python3 -m venv .venv",
    )
    return [(found[0][0], [venv]), *found]


def _has_requirements(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in text.splitlines())


def _package(tree: set[str], files: Mapping[str, str]) -> tuple[str, list[str]] | None:
    """`pip install -e .` when the package declares dependencies, or lives under `src/` (where
    nothing imports it from the checkout's root until it is installed)."""
    source, declares, extras = "", False, set[str]()
    pyproject = _toml(files.get("pyproject.toml"))
    if pyproject is not None and ("project" in pyproject or "build-system" in pyproject):
        source = "pyproject.toml"
        project = _table(pyproject.get("project"))
        extras = set(_table(project.get("optional-dependencies")))
        poetry = _table(_table(_table(pyproject.get("tool")).get("poetry")).get("dependencies"))
        declares = (
            bool(project.get("dependencies"))
            or "dependencies" in (project.get("dynamic") or ())
            or any(name != "python" for name in poetry)
        )
    if "setup.cfg" in files:
        options = _setup_cfg(files["setup.cfg"])
        if options is not None:
            source = source or "setup.cfg"
            declares = declares or bool(options[0].strip())
            extras |= options[1]
    if "setup.py" in tree:
        source = source or "setup.py"
        text = files.get("setup.py", "")
        empty = re.search(r"install_requires\s*=\s*(\[\s*\]|\(\s*\))", text)
        declares = declares or ("install_requires" in text and not empty)
    extra = next((name for name in _TEST_EXTRAS if name in extras), None)
    src_layout = any(re.match(r"^src/[^/]+/__init__\.py$", p) for p in tree)
    if not source or not (declares or extra or src_layout):
        return None
    target = f"'.[{extra}]'" if extra else "."
    return (source, [f"{_PIP} -e {target}"])


def _setup_cfg(text: str) -> tuple[str, set[str]] | None:
    """setup.cfg's `install_requires` and extras; None when it describes no package."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    if not parser.has_section("metadata") and not parser.has_section("options"):
        return None
    requires = parser.get("options", "install_requires", fallback="")
    extras = "options.extras_require"
    return requires, set(parser.options(extras)) if parser.has_section(extras) else set()


def _pipfile_has_packages(text: str) -> bool:
    data = _toml(text) or {}
    return bool(_table(data.get("packages")) or _table(data.get("dev-packages")))


# Node, Go, Rust, Ruby ------------------------------------------------------------------------
def _node(tree: set[str], files: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    try:
        package = json.loads(files.get("package.json", ""))
    except ValueError:
        return []
    if not isinstance(package, dict):
        return []
    kinds = ("dependencies", "devDependencies", "optionalDependencies")
    if not any(_table(package.get(kind)) for kind in kinds):
        return []
    manager = str(package.get("packageManager") or "").partition("@")[0]
    if manager not in ("npm", "yarn", "pnpm"):
        manager = next(
            (tool for lock, tool in _LOCKS if lock in tree),
            "npm",
        )
    locked = any(lock in tree for lock, tool in _LOCKS if tool == manager)
    if manager == "pnpm":
        command = "pnpm install --frozen-lockfile" if locked else "pnpm install"
    elif manager == "yarn":
        # Yarn 2 and later (a .yarnrc.yml) renamed --frozen-lockfile to --immutable.
        frozen = "--immutable" if ".yarnrc.yml" in tree else "--frozen-lockfile"
        command = f"yarn install {frozen}" if locked else "yarn install"
    else:
        command = f"npm {'ci' if locked else 'install'} --no-audit --no-fund"
    return [("package.json", [needs(manager, command)])]


_LOCKS = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
)


def _go(tree: set[str], files: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    requires = re.search(r"^\s*require\b", files.get("go.mod", ""), re.MULTILINE)
    if not requires or "vendor/modules.txt" in tree:
        return []
    # vendor/, not the module cache under HOME: only the workspace outlives set-up.
    return [("go.mod", [needs("go", "go mod vendor")])]


def _rust(tree: set[str], files: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    cargo = _toml(files.get("Cargo.toml"))
    if cargo is None:
        return []
    tables = [cargo, *_table(cargo.get("target")).values()]
    kinds = ("dependencies", "dev-dependencies", "build-dependencies")
    workspace = _table(cargo.get("workspace"))
    declares = any(_table(_table(t).get(kind)) for t in tables for kind in kinds) or bool(
        workspace.get("members") or _table(workspace.get("dependencies"))
    )
    if not declares or any(p.startswith(".cargo/config") for p in tree):
        return []
    # `cargo vendor` prints the source replacement that makes later builds use vendor/.
    command = "mkdir -p .cargo && cargo vendor --quiet >> .cargo/config.toml"
    return [("Cargo.toml", [needs("cargo", command)])]


def _ruby(files: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    gems = re.search(r"^\s*(gem|gemspec)\b", files.get("Gemfile", ""), re.MULTILINE)
    if not gems:
        return []
    command = "bundle config set --local path vendor/bundle && bundle install"
    return [("Gemfile", [needs("bundle", command)])]


def _toml(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
