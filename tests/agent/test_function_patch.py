from __future__ import annotations

from bot.agent.function_patch import apply_reply, code_blocks, named_path, replace_definitions

SOURCE = '''"""Money."""

import math


def format_price(cents: int) -> str:
    return f"${cents // 100}.{cents % 100}"


class Till:
    total = 0

    @staticmethod
    def add(cents: int) -> int:
        return cents + 1

    def clear(self) -> None:
        self.total = 0
'''


def test_a_top_level_function_is_replaced_in_place() -> None:
    block = (
        'def format_price(cents: int) -> str:\n    return f"${cents // 100}.{cents % 100:02d}"\n'
    )
    result = replace_definitions(SOURCE, block)
    assert result is not None
    text, names = result
    assert names == ["format_price"]
    assert '{cents % 100:02d}"' in text
    assert text.replace(":02d", "") == SOURCE


def test_a_method_written_alone_is_indented_into_its_class_decorators_and_all() -> None:
    block = "@staticmethod\ndef add(cents: int) -> int:\n    return cents + 2\n"
    text, names = replace_definitions(SOURCE, block) or ("", [])
    assert names == ["Till.add"]
    assert "    @staticmethod\n    def add(cents: int) -> int:\n        return cents + 2\n" in text
    assert text.count("staticmethod") == 1
    assert "    def clear(self) -> None:" in text


def test_a_block_naming_what_the_file_lacks_or_not_parsing_changes_nothing() -> None:
    assert replace_definitions(SOURCE, "def other():\n    return 1\n") is None
    assert replace_definitions(SOURCE, "def format_price(:\n") is None
    assert replace_definitions(SOURCE, "x = 1\n") is None


def test_the_block_goes_to_the_file_it_names_else_the_file_defining_it() -> None:
    files = {"a/money.py": SOURCE, "a/other.py": "def format_price():\n    return 0\n"}
    reply = (
        "The fraction is not padded.\n```python\n# a/money.py\n"
        'def format_price(cents: int) -> str:\n    return "fixed"\n```\n'
    )
    (done,) = apply_reply(reply, files)
    assert done.path == "a/money.py" and 'return "fixed"' in done.text
    unnamed = "```python\ndef clear(self) -> None:\n    self.total = 1\n```"
    (done,) = apply_reply(unnamed, {"a/money.py": SOURCE})
    assert done.names == ("Till.clear",) and "        self.total = 1\n" in done.text


def test_replies_without_usable_code_change_nothing() -> None:
    assert apply_reply("I think the bug is in format_price.", {"m.py": SOURCE}) == []
    same = "```python\ndef format_price(cents: int) -> str:\n"
    same += '    return f"${cents // 100}.{cents % 100}"\n```'
    assert apply_reply(same, {"m.py": SOURCE}) == []


def test_code_blocks_and_their_named_paths() -> None:
    reply = "a\n```python\n# pkg/m.py\nx = 1\n```\nb\n```py\ny = 2\n```\n```python\nz = 3\n"
    assert code_blocks(reply) == ["# pkg/m.py\nx = 1\n", "y = 2\n", "z = 3\n"]
    assert named_path("# pkg/m.py\nx = 1\n") == "pkg/m.py"
    assert named_path("# ./pkg/m.py\n") == "pkg/m.py"
    assert named_path("x = 1\n# pkg/m.py\n") is None


def test_a_fragment_then_its_replacement_is_an_edit() -> None:
    reply = (
        'Change the line\n```python\nreturn f"${cents // 100}.{cents % 100}"\n```\nto\n'
        '```python\nreturn f"${cents // 100}.{cents % 100:02d}"\n```\n'
    )
    (done,) = apply_reply(reply, {"m.py": SOURCE})
    assert done.names == ("lines 7-7",)
    assert '    return f"${cents // 100}.{cents % 100:02d}"\n' in done.text
    # A fragment found nowhere, or twice, is no edit; nor is a lone fragment.
    twice = "```python\ntotal = 0\n```\n```python\ntotal = 1\n```"
    assert apply_reply(twice, {"m.py": SOURCE}) == []
    assert apply_reply("```python\nimport math\n```", {"m.py": SOURCE}) == []
    nowhere = "```python\nreturn 5\n```\n```python\nreturn 6\n```"
    assert apply_reply(nowhere, {"m.py": SOURCE}) == []


def test_imports_the_corrected_function_needs_come_along() -> None:
    block = (
        "import math\nimport re\nfrom typing import List\n\n"
        "def format_price(cents: int) -> str:\n    return re.sub('x', '', str(cents))\n"
    )
    text, _ = replace_definitions(SOURCE, block) or ("", [])
    head = '"""Money."""\n\nimport math\nimport re\nfrom typing import List\n\n\ndef format_price'
    assert text.startswith(head)
    bare = "def f():\n    return 1\n"
    text, _ = replace_definitions(bare, "import os\n\ndef f():\n    return os.sep\n") or ("", [])
    assert text == "import os\ndef f():\n    return os.sep\n"
    documented = '"""Doc."""\ndef f():\n    return 1\n'
    text, _ = replace_definitions(documented, "import os\ndef f():\n    return 2\n") or ("", [])
    assert text == '"""Doc."""\nimport os\ndef f():\n    return 2\n'


def test_a_standard_module_the_new_code_uses_without_importing_it_is_imported() -> None:
    slug = '"""Slugs."""\n\n\ndef slugify(title):\n    return title.replace(" ", "-")\n'
    forgot = (
        "def slugify(title):\n    return re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')\n"
    )
    text, _ = replace_definitions(slug, forgot) or ("", [])
    assert text.startswith('"""Slugs."""\nimport re\n\n\ndef slugify(title):\n    return re.sub(')
    # Named once, whether the block imports it as well or not.
    both = "import re\n" + forgot
    text, _ = replace_definitions(slug, both) or ("", [])
    assert text.count("import re") == 1
    # Bound names are not modules: a parameter, an alias, a local; nor is an unknown name.
    for code in (
        "def slugify(re):\n    return re.sub('a', 'b', 'c')\n",
        "import regex as re\ndef slugify(title):\n    return re.sub('a', 'b', title)\n",
        "def slugify(title):\n    json = None\n    return json.x\n",
        "def slugify(title):\n    return textkit.words(title)\n",
    ):
        text, _ = replace_definitions(slug, code) or ("", [])
        assert "import re\n" not in text.replace("import regex as re\n", "")
        assert "import json" not in text and "import textkit" not in text
