"""The technical writer's trigger: which changes make the docs untrue, from real `git diff`s."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from bot.run.docs_writer import DocsNeed, doc_paths, is_doc_path, needs_docs
from tests.run_fakes import git, write_files

CLI = """\
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--name", default="world")
args = parser.parse_args()
print(f"Hello, {args.name}")
"""
CLI_SHOUT = CLI.replace(
    'parser.add_argument("--name", default="world")\n',
    'parser.add_argument("--name", default="world")\n'
    'parser.add_argument("--shout", action="store_true")\n',
)
README = "# hello\n\nRun `python cli.py --name Ada` to greet Ada.\n"


def diff_of(tmp: Path, before: dict[str, str], after: Mapping[str, str | None]) -> str:
    """What `git diff main...HEAD` shows after a branch changes `before` into `after`
    (None deletes a file)."""
    repo = tmp / "repo"
    git(tmp, "init", "--quiet", "--initial-branch=main", str(repo))
    write_files(repo, before)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "base")
    git(repo, "checkout", "--quiet", "-b", "work")
    for path, text in after.items():
        if text is None:
            (repo / path).unlink()
        else:
            write_files(repo, {path: text})
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "work")
    return git(repo, "diff", "main...work", "--")


def test_a_flag_added_beside_a_documented_one_needs_the_readme(tmp_path: Path) -> None:
    diff = diff_of(tmp_path, {"cli.py": CLI}, {"cli.py": CLI_SHOUT})

    need = needs_docs(diff, {"README.md": README, "docs/design.md": "# Design\n\nNo flags.\n"})

    assert need is not None
    assert need.docs == ["README.md"]
    [fact] = need.facts
    assert fact.startswith("flag `--shout` added in `cli.py`; README.md mentions")
    assert "`--name`" in fact


def test_a_new_flag_in_a_script_the_docs_name_needs_them(tmp_path: Path) -> None:
    before = {"tool.py": "import argparse\n\nparser = argparse.ArgumentParser()\n"}
    after = {"tool.py": before["tool.py"] + 'parser.add_argument("--dry-run")\n'}
    readme = "# tool\n\nRun it as `python tool.py`.\n"

    need = needs_docs(diff_of(tmp_path, before, after), {"README.md": readme})

    assert need == DocsNeed(
        ["flag `--dry-run` added in `tool.py`; README.md mentions `tool.py` beside it"],
        ["README.md"],
    )


def test_a_renamed_click_option_names_the_old_flag_the_docs_mention(tmp_path: Path) -> None:
    before = {
        "app/main.py": (
            "import click\n\n\n@click.command()\n"
            '@click.option("--color", is_flag=True)\ndef main(color):\n    pass\n'
        )
    }
    after = {"app/main.py": before["app/main.py"].replace('"--color"', '"--colour"')}
    docs = {"README.md": "# app\n", "docs/usage.md": "Pass --color for colours.\n"}

    need = needs_docs(diff_of(tmp_path, before, after), docs)

    assert need is not None and need.docs == ["docs/usage.md"]
    assert need.facts == [
        "flag `--color` removed from `app/main.py`; docs/usage.md mentions it",
        "flag `--colour` added in `app/main.py`; docs/usage.md mentions `--color` beside it",
    ]


def test_a_flag_no_doc_describes_needs_nothing(tmp_path: Path) -> None:
    diff = diff_of(tmp_path, {"cli.py": CLI}, {"cli.py": CLI_SHOUT})

    assert needs_docs(diff, {"README.md": "# hello\n\nSays hello.\n"}) is None
    assert needs_docs(diff, {}) is None


def test_a_renamed_public_function_the_readme_mentions(tmp_path: Path) -> None:
    before = {"greet.py": 'def greet(name):\n    return f"Hello, {name}"\n'}
    after = {"greet.py": 'def welcome(name):\n    return f"Hello, {name}"\n'}
    readme = "# greeter\n\nCall `greet(name)` to get a greeting.\n"

    need = needs_docs(diff_of(tmp_path, before, after), {"README.md": readme})

    assert need is not None
    assert need.facts == [
        "public name `greet` removed from `greet.py`; README.md mentions it",
        "public name `welcome` added in `greet.py`; README.md mentions `greet` beside it",
    ]


def test_a_changed_signature_of_a_documented_class(tmp_path: Path) -> None:
    before = {"lib/client.py": "class HttpClient:\n    pass\n"}
    after = {"lib/client.py": "class HttpClient(Base):\n    pass\n"}
    readme = "Make an HttpClient and call it.\n"

    need = needs_docs(diff_of(tmp_path, before, after), {"README.md": readme})

    assert need is not None
    assert need.facts == [
        "public name `HttpClient` changed in `lib/client.py`; README.md mentions it"
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # private names are not described
        ({"m.py": "def _helper():\n    pass\n"}, {"m.py": "def _other():\n    pass\n"}),
        # tests are not what docs describe
        (
            {"tests/test_m.py": "def test_greet():\n    pass\n"},
            {"tests/test_m.py": "def test_hello():\n    pass\n"},
        ),
        # a body change leaves the names as they were
        (
            {"greet.py": "def greet(name):\n    return name\n"},
            {"greet.py": "def greet(name):\n    return name.title()\n"},
        ),
    ],
)
def test_changes_docs_do_not_describe(
    tmp_path: Path, before: dict[str, str], after: dict[str, str]
) -> None:
    readme = "Call `greet(name)`; `_helper` and `_other`, `test_greet` are internal.\n"

    assert needs_docs(diff_of(tmp_path, before, after), {"README.md": readme}) is None


def test_a_plain_word_counts_only_in_code(tmp_path: Path) -> None:
    diff = diff_of(
        tmp_path, {"tasks.py": "def run():\n    pass\n"}, {"tasks.py": "def start():\n    pass\n"}
    )

    assert needs_docs(diff, {"README.md": "We run the tests every night.\n"}) is None
    need = needs_docs(diff, {"README.md": "Call `tasks.run()` every night.\n"})
    assert need is not None and need.facts[0].startswith("public name `run` removed")
    fenced = "Example:\n\n```python\nfrom tasks import run\nrun()\n```\n"
    assert needs_docs(diff, {"README.md": fenced}) is not None


def test_a_settings_field_the_docs_name_as_an_environment_variable(tmp_path: Path) -> None:
    settings = (
        "from pydantic_settings import BaseSettings\n\n\n"
        "class Settings(BaseSettings):\n"
        "    max_steps: int = 30\n"
        "    log_level: str = 'info'\n"
    )
    after = {"app/settings.py": settings.replace("= 30", "= 40")}
    docs = {
        "README.md": "# app\n",
        "docs/configuration.md": "| `APP_MAX_STEPS` | 30 | steps per run |\n",
    }

    need = needs_docs(diff_of(tmp_path, {"app/settings.py": settings}, after), docs)

    assert need == DocsNeed(
        ["config key `max_steps` changed in `app/settings.py`; docs/configuration.md mentions it"],
        ["docs/configuration.md"],
    )


def test_a_yaml_key_added_beside_a_documented_one(tmp_path: Path) -> None:
    before = {"config.yml": "retries_max: 3\nbackoff_s: 2\n"}
    after = {"config.yml": "retries_max: 3\nbackoff_s: 2\ntimeout_s: 30\n"}
    readme = "Set `retries_max` in config.yml to retry more.\n"

    need = needs_docs(diff_of(tmp_path, before, after), {"README.md": readme})

    assert need is not None
    assert need.facts == [
        "config key `timeout_s` added in `config.yml`; README.md mentions `retries_max` beside it"
    ]


def test_a_toml_key_removed_and_lock_files_ignored(tmp_path: Path) -> None:
    before = {"tool.toml": "[server]\nport_number = 80\n", "poetry.lock": "name_x = 1\n"}
    after = {"tool.toml": "[server]\n", "poetry.lock": "name_y = 1\n"}
    readme = "`port_number` and `name_x` are read at start.\n"

    need = needs_docs(diff_of(tmp_path, before, after), {"README.md": readme})

    assert need is not None
    assert need.facts == [
        "config key `port_number` removed from `tool.toml`; README.md mentions it"
    ]


def test_changes_to_the_docs_themselves_are_not_facts(tmp_path: Path) -> None:
    diff = diff_of(tmp_path, {"README.md": README}, {"README.md": README + "More `--name`.\n"})

    assert needs_docs(diff, {"README.md": README}) is None


def test_a_deleted_file_reports_its_names(tmp_path: Path) -> None:
    diff = diff_of(tmp_path, {"cli.py": CLI, "keep.txt": "x\n"}, {"cli.py": None})

    need = needs_docs(diff, {"README.md": README})

    assert need is not None
    assert need.facts == ["flag `--name` removed from `cli.py`; README.md mentions it"]


def test_which_files_are_docs() -> None:
    paths = [
        "src/pkg/README.md",
        "docs/guide/setup.md",
        "docs/logo.png",
        "README.rst",
        "node_modules/left-pad/README.md",
        "notes.md",
        "docs/api.rst",
        "READMEFIRST",
    ]

    assert [p for p in paths if is_doc_path(p)] == [
        "src/pkg/README.md",
        "docs/guide/setup.md",
        "README.rst",
        "docs/api.rst",
        "READMEFIRST",
    ]
    assert doc_paths(paths)[:2] == ["README.rst", "READMEFIRST"]
