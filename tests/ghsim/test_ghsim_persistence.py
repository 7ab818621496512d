"""ghsim keeps its state and its undelivered webhooks across a restart."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from githubkit import TokenAuthStrategy

from tests.ghsim_support import GhsimProcess, Receiver, unique, wait_until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver whose port is reserved but which is not listening until started."""
    down = Receiver()
    yield down
    down.stop()


def test_restart_keeps_state_and_delivers_what_was_pending(
    tmp_path: Path, receiver: Receiver
) -> None:
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

        def failed_to_connect() -> bool:
            found = app.rest.apps.list_webhook_deliveries(per_page=100).parsed_data
            return any(
                d.event == "issues" and d.status == "failed to connect to host" for d in found
            )

        wait_until(failed_to_connect, 10, "a failed delivery to a receiver that is down")
        receiver.start()
        receiver.wait_for("issues", "opened", timeout=15)
        receiver.stop()
        gh.rest.issues.create_comment(owner, name, 1, body="while nobody listens")
        token = app.rest.apps.create_installation_access_token(
            info["installation_id"]
        ).parsed_data.token
    finally:
        sim.stop()

    receiver.start()
    sim = GhsimProcess(data_dir, receiver.url, port=sim.port).start()
    try:
        assert sim.app_info == info
        gh = sim.person(owner)
        issue = gh.rest.issues.get(owner, name, 1).parsed_data
        assert issue.title == "Before the restart" and [x.name for x in issue.labels] == ["bug"]
        level = gh.rest.repos.get_collaborator_permission_level(owner, name, dev).parsed_data
        assert level.role_name == "write"
        readme = gh.rest.repos.get_content(owner, name, "README.md").parsed_data
        assert not isinstance(readme, list)
        assert base64.b64decode(readme.content).decode().startswith(f"# {name}")
        bot = sim.client(TokenAuthStrategy(token))
        assert bot.rest.issues.list_comments(owner, name, 1).parsed_data[0].body == (
            "while nobody listens"
        )
        comment = receiver.wait_for("issue_comment", "created", timeout=15)
        assert comment.payload["comment"]["body"] == "while nobody listens"
        assert len(receiver.find("installation", "created")) == 1
    finally:
        sim.stop()
