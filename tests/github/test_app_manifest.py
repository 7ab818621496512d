"""The App manifest asks for what the bot uses and nothing more."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.github.manifest import EVENT_PERMISSION, PERMISSIONS, manifest
from handlers import router


def events() -> list[str]:
    return sorted(router.events())


ROOT = Path(__file__).resolve().parents[2]


def test_every_event_a_handler_registers_is_subscribed_and_no_other() -> None:
    registered = {event for event, _ in router._routes}
    assert set(events()) == registered
    assert "pull_request_review" in registered and "status" in registered


def test_every_event_is_backed_by_a_granted_permission() -> None:
    # GitHub refuses a manifest subscribing to an event whose permission it does not ask for.
    assert set(EVENT_PERMISSION) >= set(events())
    assert {EVENT_PERMISSION[e] for e in events()} <= set(PERMISSIONS)


def test_permissions_are_the_minimum() -> None:
    assert PERMISSIONS == {
        "issues": "write",
        "pull_requests": "write",
        "contents": "write",
        "checks": "read",
        "statuses": "read",
        "actions": "write",
        "metadata": "read",
    }
    assert "admin" not in PERMISSIONS.values()


def _github_calls() -> set[str]:
    """The githubkit REST namespaces the github room calls (`gh.rest.<namespace>.<op>`)."""
    found = set()
    for module in sorted((ROOT / "bot" / "github").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                if node.value.attr == "rest" and node.attr != "paginate":
                    found.add(node.attr)
    return found


def test_the_permissions_cover_the_rest_namespaces_the_client_calls() -> None:
    # Each namespace's calls need these (app JWT calls need none, users are public).
    needs = {
        "issues": {"issues"},
        "reactions": {"issues"},
        "pulls": {"pull_requests"},
        "repos": {"contents", "statuses", "metadata"},
        "checks": {"checks"},
        "actions": {"actions"},
        "apps": set(),
        "users": set(),
    }
    calls = _github_calls()
    assert calls <= set(needs), f"a new namespace is called: {calls - set(needs)}"
    wanted = set().union(*(needs[c] for c in calls))
    # Every permission asked for is used by some call (pull_requests also covers GraphQL's
    # markPullRequestReadyForReview and pushes need contents: both are in the set above).
    assert wanted == set(PERMISSIONS)


def test_manifest_has_the_fields_githubs_flow_takes() -> None:
    m = manifest(
        "Issue Pilot x", "https://bot.example/webhooks/github", "http://127.0.0.1:1/cb", events()
    )
    assert m["hook_attributes"] == {"url": "https://bot.example/webhooks/github", "active": True}
    assert m["redirect_url"] == "http://127.0.0.1:1/cb"
    assert m["public"] is False and m["url"].startswith("https://")
    assert m["default_permissions"] == PERMISSIONS and m["default_events"] == events()
