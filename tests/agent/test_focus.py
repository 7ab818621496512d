"""The files shown up front (bot/agent/focus.py, read by bot/run/shown_files.py): in a small
repository, those the issue names and their tests, within a budget; in a big one, none."""

from __future__ import annotations

from bot.agent.focus import MAX_FILE_CHARS, SHOWN_CHARS, SMALL_REPO_FILES, is_small, pick, view
from bot.run.shown_files import MAX_READ_BYTES, shown_files
from tests.agent.test_agent import FakeSandbox

ISSUE = "slugify() in textkit/slug.py keeps trailing dashes: slugify('a b ') gives 'a-b-'."
CONTENTS = {
    "textkit/slug.py": "def slugify(text):\n    return '-'.join(text.lower().split(' '))\n",
    "textkit/wrap.py": "def wrap(text, width):\n    return text[:width]\n",
    "textkit/__init__.py": "from textkit.slug import slugify\n",
    "tests/test_slug.py": (
        "from textkit.slug import slugify\n\ndef test_slug():\n    assert slugify('a b')\n"
    ),
    "tests/test_wrap.py": "from textkit.wrap import wrap\n",
    "setup.cfg": "[metadata]\nname = textkit\n",
}


def test_the_named_file_comes_first_with_its_tests() -> None:
    shown = pick(ISSUE, CONTENTS)
    assert shown[:2] == ["textkit/slug.py", "tests/test_slug.py"]
    # The package's name is a shared identifier, so files importing it follow; wrap.py does not.
    assert "textkit/wrap.py" not in shown


def test_a_file_named_by_its_module_or_its_name_is_picked() -> None:
    by_module = pick("The function in textkit.wrap cuts words.", CONTENTS)
    assert by_module[:2] == ["textkit/wrap.py", "tests/test_wrap.py"]
    by_name = pick("wrap.py cuts words in half", CONTENTS)
    assert by_name[:2] == ["textkit/wrap.py", "tests/test_wrap.py"]


def test_files_sharing_the_issues_identifiers_follow_the_named_one() -> None:
    shown = pick("slugify keeps dashes", CONTENTS)
    # No path named: those that use `slugify`, the definition's test with it.
    assert set(shown) == {"textkit/slug.py", "tests/test_slug.py", "textkit/__init__.py"}


def test_an_issue_that_names_nothing_shows_nothing() -> None:
    assert pick("It is slow.", CONTENTS) == []


def test_the_budget_is_kept_and_a_big_file_does_not_push_out_the_rest() -> None:
    contents = {
        "app/big.py": "def handler():\n" + "    x = 1\n" * 2000,
        "app/mid.py": "def handler_two():\n" + "    y = 2\n" * 300,
        "tests/test_big.py": "def test_handler():\n    pass\n",
        "app/small.py": "def handler_three():\n    pass\n",
    }
    shown = pick("handler in app/big.py, handler_two, handler_three fail", contents)
    sizes = [min(len(contents[p]), MAX_FILE_CHARS) for p in shown]
    assert sum(sizes) <= SHOWN_CHARS
    assert shown[:2] == ["app/big.py", "tests/test_big.py"]
    assert "app/small.py" in shown  # skipped over mid.py, which no longer fit


def test_small_means_few_source_files_outside_hidden_folders() -> None:
    small = [f"src/m{n}.py" for n in range(SMALL_REPO_FILES)]
    assert is_small([*small, "README.md", "logo.png", ".git/hooks/x.sh", ".venv/a.py"])
    assert not is_small([*small, "src/one_more.py"])


def test_view_numbers_and_cuts_with_a_hint() -> None:
    assert view("a = 1\nb = 2\n") == "1| a = 1\n2| b = 2"
    long = "".join(f"value_{n} = {'x' * 50}\n" for n in range(1, 201))
    shown = view(long).splitlines()
    assert len("\n".join(shown[:-1])) <= MAX_FILE_CHARS
    last = len(shown)  # the hint's line number is the first one left out
    assert shown[-1] == f"[lines {last}-200 not shown: read_file with start_line={last}]"
    assert shown[0] == "  1| value_1 = " + "x" * 50


async def test_shown_files_are_read_from_the_sandbox_and_numbered() -> None:
    sandbox = FakeSandbox({p: t.encode() for p, t in CONTENTS.items()})
    sandbox.files["textkit/huge.py"] = b"slugify = 1\n" * (MAX_READ_BYTES // 10)
    paths = [*CONTENTS, "textkit/huge.py", "textkit/gone.py"]  # gone.py: deleted since
    shown = await shown_files(sandbox, paths, ISSUE)
    assert [p for p, _ in shown][:2] == ["textkit/slug.py", "tests/test_slug.py"]
    assert "textkit/huge.py" not in [p for p, _ in shown]
    assert shown[0][1] == view(CONTENTS["textkit/slug.py"])


async def test_a_big_repository_shows_nothing_and_reads_nothing() -> None:
    paths = [f"pkg/m{n}.py" for n in range(SMALL_REPO_FILES + 1)] + ["textkit/slug.py"]

    class Unreadable(FakeSandbox):
        async def read_file(self, path: str) -> bytes:
            raise AssertionError(f"read {path}")

    assert await shown_files(Unreadable(), paths, ISSUE) == []
