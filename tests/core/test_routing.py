from __future__ import annotations

from typing import Any

from bot.core.events import Event
from bot.core.routing import Router


async def noop(event: Event, ctx: Any) -> None:
    return None


async def other(event: Event, ctx: Any) -> None:
    return None


def test_action_specific_and_catch_all_handlers() -> None:
    router = Router()
    router.register("issues", action="labeled")(noop)
    router.register("issues")(other)
    assert router.handlers_for("issues", "labeled") == [other, noop]
    assert router.handlers_for("issues", "opened") == [other]
    assert router.handlers_for("push", None) == []
    assert router.subscribes("issues", "closed")
    assert not router.subscribes("push", None)


def test_compose_keeps_every_modules_handlers() -> None:
    first, second = Router(), Router()
    first.register("issues", action="labeled")(noop)
    second.register("issues", action="labeled")(other)
    second.register("issue_comment", action="created")(noop)
    both = Router.compose(first, second)
    assert both.handlers_for("issues", "labeled") == [noop, other]
    assert both.handlers_for("issue_comment", "created") == [noop]
    assert first.handlers_for("issue_comment", "created") == []


def test_event_fields_from_a_payload() -> None:
    event = Event(
        "issues",
        "d",
        {
            "action": "labeled",
            "sender": {"login": "dependabot[bot]", "type": "Bot"},
            "installation": {"id": 7},
            "repository": {"full_name": "o/r"},
        },
    )
    assert (event.action, event.installation_id, event.repo_full_name) == ("labeled", 7, "o/r")
    assert event.sender_is_bot
    assert Event("ping", "d", {"action": 3}).action is None
