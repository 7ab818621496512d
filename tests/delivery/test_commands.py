from __future__ import annotations

import pytest

from bot.delivery.commands import Command, parse


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/pilot run", Command("run")),
        ("/pilot", Command("help")),
        ("/PILOT Stop", Command("stop")),
        ("thanks!\n\n/pilot approve\n/pilot stop", Command("approve")),
        ("/pilot continue use the v2 API", Command("continue", "use the v2 API")),
        (
            "/pilot continue\nuse the v2 API\nand keep tests",
            Command("continue", "use the v2 API\nand keep tests"),
        ),
        ("/pilot frobnicate", Command("frobnicate")),
        ("  /pilot status  ", Command("status")),
        ("```\n/pilot stop\n```\n/pilot status", Command("status")),
        ("~~~python\n/pilot stop\n~~~", None),
        ("> /pilot stop\n", None),
        (">/pilot stop", None),
        ("    /pilot stop", None),
        ("/pilotstop", None),
        ("please /pilot stop", None),
        ("", None),
        ("/pilot retry\r\n", Command("retry")),
    ],
)
def test_parse(body: str, expected: Command | None) -> None:
    assert parse(body, "/pilot") == expected


def test_prefix_is_configurable() -> None:
    assert parse("/bot run", "/bot") == Command("run")
    assert parse("/pilot run", "/bot") is None


def test_unterminated_fence_hides_the_rest() -> None:
    assert parse("```\n/pilot stop", "/pilot") is None


def test_known() -> None:
    assert Command("stop").known
    assert not Command("frobnicate").known


def test_continue_keeps_the_answer_as_written() -> None:
    body = "/pilot continue\nUse this:\n```py\nprint('hi')\n```\n> as the docs say"
    assert parse(body, "/pilot") == Command(
        "continue", "Use this:\n```py\nprint('hi')\n```\n> as the docs say"
    )


@pytest.mark.parametrize("name", ["`rm", "x" * 40, "ünicode", "a`b"])
def test_odd_command_names_are_unknown_and_not_echoed(name: str) -> None:
    command = parse(f"/pilot {name}", "/pilot")
    assert command == Command("")
    assert command is not None and not command.known
