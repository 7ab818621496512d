"""ghsim keeps its state across a restart: what it queued is delivered, what failed stays
listed for redelivery."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from githubkit import GitHub, TokenAuthStrategy

from tests.ghsim_support import GhsimProcess, Receiver, unique, wait_until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver whose port is reserved but which is not listening until started."""
    down = Receiver()
    yield down
    down.stop()


def test_restart_keeps_state_and_deliveries(tmp_path: Path, receiver: Receiver) -> None:
    data_dir = tmp_path / "data"
    sim = GhsimProcess(data_dir, receiver.url).start()
    try:
        info = sim.app_info
        owner, dev = unique("owner"), unique("dev")
        gh, app = sim.person(owner), sim.app()
        name = unique("repo")
        gh.rest.repos.create_for_authenticated_user(name=name, auto_init=True)
        gh.rest.repos.add_collaborator(owner, name, dev, permission="push")
        gh.rest.issues.create(owner, name, title="Before the restart", labels=["bug"])
        gh.rest.issues.create_comment(owner, name, 1, body="while nobody listens")
        failed = wait_until(
            lambda: _failed(app, "issue_comment"),
            10,
            "a failed delivery to a receiver that is down",
        )
        receiver.start()
        # Held by the fault mode while ghsim stops: queued, never attempted.
        faults = f"{sim.api_url}_ghsim/faults/deliveries"
        assert httpx.put(faults, json={"delay_ms": 60_000}).status_code == 200
        gh.rest.issues.create_comment(owner, name, 1, body="while ghsim stops")
        token = app.rest.apps.create_installation_access_token(
            info["installation_id"]
        ).parsed_data.token
    finally:
        sim.stop()

    sim = GhsimProcess(data_dir, receiver.url, port=sim.port).start()
    try:
        assert sim.app_info == info
        gh, app = sim.person(owner), sim.app()
        issue = gh.rest.issues.get(owner, name, 1).parsed_data
        assert issue.title == "Before the restart" and [x.name for x in issue.labels] == ["bug"]
        level = gh.rest.repos.get_collaborator_permission_level(owner, name, dev).parsed_data
        assert level.role_name == "write"
        readme = gh.rest.repos.get_content(owner, name, "README.md").parsed_data
        assert not isinstance(readme, list)
        assert base64.b64decode(readme.content).decode().startswith(f"# {name}")
        bot = sim.client(TokenAuthStrategy(token))
        bodies = [c.body for c in bot.rest.issues.list_comments(owner, name, 1).parsed_data]
        assert bodies == ["while nobody listens", "while ghsim stops"]
        # What was queued goes out after the restart (the fault mode is not kept)...
        held = receiver.wait_for("issue_comment", "created", timeout=15)
        assert held.payload["comment"]["body"] == "while ghsim stops"
        # ...what failed stays failed, listed, and can be redelivered.
        assert _failed(app, "issue_comment") == failed
        app.rest.apps.redeliver_webhook_delivery(failed.id)
        wait_until(lambda: len(receiver.find("issue_comment", "created")) == 2, 10, "redelivery")
        again = receiver.find("issue_comment", "created")[-1]
        assert again.payload["comment"]["body"] == "while nobody listens"
        listed = app.rest.apps.list_webhook_deliveries(per_page=100).parsed_data
        assert [d.event for d in listed].count("installation") == 1
    finally:
        sim.stop()


def _failed(app: GitHub[Any], event: str) -> Any:
    listed = app.rest.apps.list_webhook_deliveries(per_page=100, status="failure").parsed_data
    found = [d for d in listed if d.event == event]
    if not found:
        return None
    assert found[0].status == "failed to connect to host" and found[0].status_code == 502
    return found[0]
