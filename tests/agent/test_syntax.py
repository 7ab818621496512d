"""The syntax check after an edit (bot/agent/syntax.py): one hook per language, chosen by the
file's suffix; a file of another language is never reported."""

from __future__ import annotations

import pytest

from bot.agent.syntax import HOOKS, syntax_error


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("a.py", "def f(x):\n    return x\n"),
        ("pkg/a.py", "async def f():\n    await g()\n"),
        ("a.json", '{"a": [1, 2], "b": null}'),
        ("pyproject.toml", '[project]\nname = "x"\n'),
        ("a.js", "function (( {"),  # no hook for it: nothing to say
        ("Makefile", "\tbroken ((("),
    ],
)
def test_good_files_and_unchecked_languages_pass(path: str, text: str) -> None:
    assert syntax_error(path, text) is None


def test_a_python_error_says_where_and_shows_the_line() -> None:
    said = syntax_error("a.py", "x = 1\ndef f(:\n    pass\n")
    assert said == "invalid syntax (line 2, column 7):\n    def f(:"


def test_python_indentation_errors_are_reported() -> None:
    said = syntax_error("a.py", "if x:\nreturn 1\n")
    assert said is not None and "expected an indented block" in said and "line 2" in said


def test_the_suffix_is_matched_whatever_its_case() -> None:
    assert syntax_error("A.PY", "def (") is not None


def test_json_and_toml_errors_have_their_position() -> None:
    assert syntax_error("a.json", '{"a": 1,}') == (
        "Expecting property name enclosed in double quotes (line 1, column 9)"
    )
    said = syntax_error("c.toml", "[table\n")
    assert said is not None and "line 1" in said


def test_every_hook_passes_an_empty_document_of_its_kind() -> None:
    empty = {".py": "", ".json": "{}", ".toml": ""}
    assert set(HOOKS) == set(empty)
    for suffix, text in empty.items():
        assert syntax_error(f"f{suffix}", text) is None
