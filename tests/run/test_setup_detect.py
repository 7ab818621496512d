"""Set-up detected from a repository's files: what each kind of project gets, nothing for one
that declares no dependencies, and guards that really stop with a message when a tool is missing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from bot.run.repo_config import parse_repo_config
from bot.run.setup_detect import (
    as_config,
    detect_setup,
    failure_reason,
    guarded,
    needs,
    setup_inputs,
)

VENV = (
    "python3 -c 'import venv, ensurepip' 2>/dev/null || { echo \"set-up needs Python 3 with venv "
    'and pip, which the sandbox image lacks (set image in .github/pilot.yml)" >&2; exit 127; }; '
    "python3 -m venv .venv"
)
PIP = ".venv/bin/python -m pip install --disable-pip-version-check"

FLAT_STDLIB_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "textkit"
version = "0.1.0"
requires-python = ">=3.10"
"""
PYPROJECT_WITH_DEPS = """\
[project]
name = "fetcher"
version = "1.2.0"
dependencies = ["requests>=2.31", "click"]

[project.optional-dependencies]
docs = ["mkdocs"]
test = ["pytest", "responses"]
"""
POETRY = """\
[tool.poetry]
name = "app"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.11"
httpx = "^0.27"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"""
TOOLS_ONLY_PYPROJECT = """\
[tool.ruff]
line-length = 100

[tool.pytest.ini_options]
testpaths = ["tests"]
"""
REQUIREMENTS = """\
# pinned for the service
requests==2.32.3
PyYAML>=6  # config files
"""
SETUP_PY_NO_DEPS = """\
from setuptools import setup

setup(name="slugs", version="0.1", py_modules=["slugs"], install_requires=[])
"""
SETUP_PY_DEPS = """\
from setuptools import setup, find_packages

setup(
    name="weather",
    packages=find_packages(),
    install_requires=[
        "requests",
    ],
)
"""
SETUP_CFG = """\
[metadata]
name = tally
version = 0.3

[options]
packages = find:
install_requires =
    attrs>=22

[options.extras_require]
testing = pytest
"""
PIPFILE = """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
flask = "*"

[dev-packages]
pytest = "*"
"""
PIPFILE_EMPTY = """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]

[dev-packages]
"""
PACKAGE_JSON = """\
{
  "name": "left-pad-plus",
  "version": "1.0.0",
  "scripts": {"test": "node --test"},
  "dependencies": {"lodash": "^4.17.21"},
  "devDependencies": {"eslint": "^9.0.0"}
}
"""
PACKAGE_JSON_NO_DEPS = """\
{
  "name": "pure-node",
  "version": "1.0.0",
  "scripts": {"test": "node --test"}
}
"""
GO_MOD = """\
module example.com/shapes

go 1.22

require (
\tgithub.com/google/go-cmp v0.6.0
)
"""
GO_MOD_BARE = "module example.com/hello\n\ngo 1.22\n"
CARGO = """\
[package]
name = "wordcount"
version = "0.1.0"
edition = "2021"

[dependencies]
regex = "1"
"""
CARGO_BARE = """\
[package]
name = "hello"
version = "0.1.0"
edition = "2021"

[dependencies]
"""
GEMFILE = """\
source "https://rubygems.org"

gem "rake"
gem "minitest", group: :test
"""
GEMFILE_BARE = 'source "https://rubygems.org"\n'


def detect(files: dict[str, str], *others: str) -> list[str]:
    paths = [*files, *others]
    wanted = setup_inputs(paths)
    return list(detect_setup(paths, {p: files[p] for p in wanted if p in files}).commands)


# nothing to set up --------------------------------------------------------------------------
def test_a_stdlib_only_project_gets_nothing() -> None:
    files = {
        "pyproject.toml": FLAT_STDLIB_PYPROJECT,
        "textkit/__init__.py": "",
        "textkit/slug.py": "def slugify(text): ...\n",
        "tests/test_slug.py": "import unittest\n",
        "README.md": "# textkit\n",
    }
    assert detect(files) == []
    assert detect({"pyproject.toml": TOOLS_ONLY_PYPROJECT, "app.py": "print(1)\n"}) == []
    assert detect({"setup.py": SETUP_PY_NO_DEPS, "slugs.py": ""}) == []
    assert detect({"requirements.txt": "# nothing needed yet\n\n"}) == []
    assert detect({"Pipfile": PIPFILE_EMPTY}) == []
    assert detect({"package.json": PACKAGE_JSON_NO_DEPS, "index.js": ""}) == []
    assert detect({"go.mod": GO_MOD_BARE, "main.go": ""}) == []
    assert detect({"Cargo.toml": CARGO_BARE, "src/main.rs": ""}) == []
    assert detect({"Gemfile": GEMFILE_BARE}) == []
    assert detect({}) == []


def test_files_it_cannot_read_suggest_nothing() -> None:
    assert detect({"package.json": "{ not json"}) == []
    assert detect({"pyproject.toml": "[project\nname = "}) == []
    assert detect({"Cargo.toml": "[dependencies\n"}) == []
    assert detect({"setup.cfg": "install_requires = x\n[broken"}) == []


def test_only_the_root_manifests_are_read() -> None:
    paths = [
        "package.json", "web/package.json", "requirements.txt", "docs/requirements.txt",
        "requirements-docs.txt", "requirements-dev.txt", "tools/go.mod", "src/app.py",
    ]  # fmt: skip
    assert setup_inputs(paths) == ["package.json", "requirements.txt", "requirements-dev.txt"]


# Python --------------------------------------------------------------------------------------
def test_requirements_go_into_a_venv_in_the_workspace_main_file_first() -> None:
    files = {
        "requirements-dev.txt": "-r requirements.txt\npytest\n",
        "requirements.txt": REQUIREMENTS,
        "requirements-docs.txt": "mkdocs\n",
        "app.py": "",
    }
    assert detect(files) == [
        VENV,
        f"{PIP} -r requirements.txt",
        f"{PIP} -r requirements-dev.txt",
    ]


def test_a_package_that_declares_dependencies_is_installed_with_its_test_extra() -> None:
    assert detect({"pyproject.toml": PYPROJECT_WITH_DEPS, "fetcher/__init__.py": ""}) == [
        VENV,
        f"{PIP} -e '.[test]'",
    ]
    assert detect({"pyproject.toml": POETRY}) == [VENV, f"{PIP} -e ."]
    assert detect({"setup.py": SETUP_PY_DEPS}) == [VENV, f"{PIP} -e ."]
    plain_setup_py = "from setuptools import setup\nsetup()\n"
    assert detect({"setup.cfg": SETUP_CFG, "setup.py": plain_setup_py}) == [
        VENV,
        f"{PIP} -e '.[testing]'",
    ]
    dynamic = FLAT_STDLIB_PYPROJECT + 'dynamic = ["dependencies"]\n'
    assert detect({"pyproject.toml": dynamic}) == [VENV, f"{PIP} -e ."]


def test_a_src_layout_package_is_installed_even_without_dependencies() -> None:
    files = {"pyproject.toml": FLAT_STDLIB_PYPROJECT, "src/textkit/__init__.py": ""}
    assert detect(files) == [VENV, f"{PIP} -e ."]


def test_requirements_and_the_package_both_count() -> None:
    files = {"requirements.txt": REQUIREMENTS, "pyproject.toml": PYPROJECT_WITH_DEPS}
    assert detect(files) == [VENV, f"{PIP} -r requirements.txt", f"{PIP} -e '.[test]'"]
    found = detect_setup(files, files)
    assert found.sources == ("requirements.txt", "pyproject.toml")


def test_a_pipfile_uses_pipenv_in_the_project_unless_pip_files_are_there() -> None:
    sync = needs("pipenv", "PIPENV_VENV_IN_PROJECT=1 pipenv sync --dev")
    install = needs("pipenv", "PIPENV_VENV_IN_PROJECT=1 pipenv install --dev")
    assert detect({"Pipfile": PIPFILE}, "Pipfile.lock") == [sync]
    assert detect({"Pipfile": PIPFILE}) == [install]
    assert detect({"Pipfile": PIPFILE, "requirements.txt": REQUIREMENTS}) == [
        VENV,
        f"{PIP} -r requirements.txt",
    ]


# Node ----------------------------------------------------------------------------------------
def test_node_uses_the_lock_files_tool_and_a_clean_install_with_a_lock() -> None:
    pkg = {"package.json": PACKAGE_JSON}
    npm = "command -v npm >/dev/null || "
    assert detect(pkg, "package-lock.json")[0].startswith(npm)
    assert detect(pkg, "package-lock.json")[0].endswith("; npm ci --no-audit --no-fund")
    assert detect(pkg, "npm-shrinkwrap.json")[0].endswith("; npm ci --no-audit --no-fund")
    assert detect(pkg)[0].endswith("; npm install --no-audit --no-fund")
    assert detect(pkg, "yarn.lock") == [needs("yarn", "yarn install --frozen-lockfile")]
    assert detect(pkg, "yarn.lock", ".yarnrc.yml") == [needs("yarn", "yarn install --immutable")]
    assert detect(pkg, "pnpm-lock.yaml") == [needs("pnpm", "pnpm install --frozen-lockfile")]


def test_the_package_manager_field_wins_over_the_lock_files() -> None:
    declared = PACKAGE_JSON.replace('"version"', '"packageManager": "pnpm@9.1.0",\n  "version"')
    assert detect({"package.json": declared}, "package-lock.json") == [
        needs("pnpm", "pnpm install")
    ]


# Go, Rust, Ruby -------------------------------------------------------------------------------
def test_go_rust_and_ruby_vendor_into_the_workspace() -> None:
    assert detect({"go.mod": GO_MOD, "main.go": ""}) == [needs("go", "go mod vendor")]
    assert detect({"go.mod": GO_MOD}, "vendor/modules.txt") == []
    cargo = "mkdir -p .cargo && cargo vendor --quiet >> .cargo/config.toml"
    assert detect({"Cargo.toml": CARGO}) == [needs("cargo", cargo)]
    assert detect({"Cargo.toml": CARGO}, ".cargo/config.toml") == []
    bundle = "bundle config set --local path vendor/bundle && bundle install"
    assert detect({"Gemfile": GEMFILE}) == [needs("bundle", bundle)]


def test_a_polyglot_repository_gets_each_in_turn() -> None:
    files = {"requirements.txt": REQUIREMENTS, "package.json": PACKAGE_JSON, "go.mod": GO_MOD}
    found = detect_setup([*files, "yarn.lock"], files)
    assert found.sources == ("requirements.txt", "package.json", "go.mod")
    assert [c.rsplit("; ", 1)[-1] for c in found.commands] == [
        "python3 -m venv .venv",
        f"{PIP} -r requirements.txt",
        "yarn install --frozen-lockfile",
        "go mod vendor",
    ]


# the guards, run -----------------------------------------------------------------------------
def run_bash(command: str, path: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path, "HOME": str(cwd), "LANG": "C.UTF-8"}
    return subprocess.run(
        ["/bin/bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=30
    )


def test_a_missing_tool_stops_the_command_with_a_message(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    command = needs("npm", "echo installing > marker")

    result = run_bash(command, str(empty), tmp_path)

    assert result.returncode == 127
    assert result.stderr.strip() == (
        "set-up needs npm, which the sandbox image lacks (set image in .github/pilot.yml)"
    )
    assert not (tmp_path / "marker").exists()


def test_a_present_tool_lets_the_command_run(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    npm = tools / "npm"
    npm.write_text('#!/bin/sh\necho "npm $*" >> calls\n')
    npm.chmod(0o755)

    result = run_bash(needs("npm", "npm ci --no-audit"), f"{tools}:{os.defpath}", tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls").read_text() == "npm ci --no-audit\n"


def test_the_python_guard_checks_for_venv_and_pip(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    python3 = tools / "python3"
    # A Python without ensurepip, as Debian's python3 is without python3-venv.
    python3.write_text('#!/bin/sh\n[ "$1" = -c ] && exit 1\necho "venv made" >> calls\n')
    python3.chmod(0o755)
    missing = run_bash(VENV, f"{tools}:{os.defpath}", tmp_path)
    assert missing.returncode == 127 and "Python 3 with venv and pip" in missing.stderr
    assert not (tmp_path / "calls").exists()

    python3.write_text('#!/bin/sh\n[ "$1" = -c ] && exit 0\necho "venv made" >> calls\n')
    assert run_bash(VENV, f"{tools}:{os.defpath}", tmp_path).returncode == 0
    assert (tmp_path / "calls").read_text() == "venv made\n"


def test_guarded_puts_the_check_first() -> None:
    assert guarded("test -x ./x", "x", "./x run") == (
        'test -x ./x || { echo "set-up needs x, which the sandbox image lacks (set image in '
        '.github/pilot.yml)" >&2; exit 127; }; ./x run'
    )


# what people are shown -----------------------------------------------------------------------
def test_the_suggestion_is_a_setup_the_config_accepts_as_is() -> None:
    files = {
        "requirements.txt": REQUIREMENTS,
        "pyproject.toml": PYPROJECT_WITH_DEPS,
        "package.json": PACKAGE_JSON,
    }
    commands = detect(files, "package-lock.json")

    text = as_config(commands)

    assert text.startswith("setup:\n- python3 -c 'import venv, ensurepip'")
    assert yaml.safe_load(text) == {"setup": commands}
    assert parse_repo_config(text).setup == commands
    # Plain YAML, one command a line: readable, and pasted as it is.
    assert len(text.splitlines()) == 1 + len(commands)
    assert all(line.startswith("- ") and line[2] not in "'\"" for line in text.splitlines()[1:])


def test_a_failed_detected_command_says_where_it_came_from_and_how_to_turn_it_off() -> None:
    reason = failure_reason("npm ci", "exited 1")
    assert reason.startswith("the detected set-up command `npm ci` exited 1 (")
    assert "has no `setup:`" in reason and "`setup: []` turns detection off" in reason
