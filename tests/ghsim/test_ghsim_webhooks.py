"""ghsim's webhooks: signed like GitHub's, shaped like the recorded ones, ordered, retried."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from githubkit.webhooks import verify

from tests.ghsim_support import FIXTURES, Delivery, Ghsim, push_files, unique, wait_until

# Every App delivery carries ``installation``; ``organization`` only comes for org repos.
TOP_LEVEL_OPTIONAL = {"installation", "organization"}
# ``changes`` names whatever was edited, so only its presence is compared.
NOT_RECURSED = {"installation", "changes"}


def recorded(event: str, action: str | None) -> dict[str, Any]:
    name = f"{action}.payload.json" if action else "payload.json"
    return dict(json.loads((FIXTURES / event / name).read_text()))


def key_differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Keys missing or extra in ``ours``, compared recursively with a recorded payload."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        problems = [f"{path}.{k} missing" for k in theirs.keys() - ours.keys()]
        problems += [f"{path}.{k} extra" for k in ours.keys() - theirs.keys()]
        for key in ours.keys() & theirs.keys():
            problems += key_differences(ours[key], theirs[key], f"{path}.{key}")
        return problems
    if isinstance(ours, list) and isinstance(theirs, list) and ours and theirs:
        return key_differences(ours[0], theirs[0], f"{path}[0]")
    return []


def assert_shaped_like_github(delivery: Delivery) -> None:
    ours, theirs = delivery.payload, recorded(delivery.event, delivery.action)
    assert "installation" in ours
    assert ours.keys() - {"installation"} == theirs.keys() - TOP_LEVEL_OPTIONAL
    nested = {k: ours[k] for k in ours.keys() & theirs.keys() if k not in NOT_RECURSED}
    assert key_differences(nested, {k: theirs[k] for k in nested}) == [], delivery.event


def for_repo(full_name: str) -> Any:
    return lambda payload: payload.get("repository", {}).get("full_name") == full_name


def test_deliveries_are_signed_with_githubs_headers(ghsim: Ghsim) -> None:
    owner = unique("owner")
    gh = ghsim.person(owner)
    name = unique("repo")
    gh.rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    gh.rest.issues.create(owner, name, title="Signed")
    delivery = ghsim.receiver.wait_for("issues", "opened", for_repo(f"{owner}/{name}"))
    info = ghsim.app_info
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    assert verify(info["webhook_secret"], delivery.body, headers["x-hub-signature-256"])
    assert verify(info["webhook_secret"], delivery.body, headers["x-hub-signature"])
    assert not verify("wrong secret", delivery.body, headers["x-hub-signature-256"])
    assert headers["x-github-event"] == "issues"
    assert len(headers["x-github-delivery"]) == 36
    assert headers["x-github-hook-installation-target-type"] == "integration"
    assert headers["x-github-hook-installation-target-id"] == str(info["app_id"])
    assert headers["x-github-hook-id"]
    assert headers["user-agent"].startswith("GitHub-Hookshot/")
    assert headers["content-type"] == "application/json"
    payload = delivery.payload
    assert payload["installation"]["id"] == info["installation_id"]
    assert payload["sender"]["login"] == owner and payload["sender"]["type"] == "User"

    bot = ghsim.installation()
    bot.rest.issues.create_comment(owner, name, 1, body="from the App")
    by_bot = ghsim.receiver.wait_for("issue_comment", "created", for_repo(f"{owner}/{name}"))
    assert by_bot.payload["sender"] == {
        **by_bot.payload["sender"],
        "login": info["bot_login"],
        "type": "Bot",
    }


def test_payloads_have_the_recorded_key_sets(ghsim: Ghsim, tmp_path: Path) -> None:
    owner, other = unique("owner"), unique("other")
    gh, rv = ghsim.person(owner), ghsim.person(other)
    name = unique("repo")
    full = f"{owner}/{name}"
    gh.rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    gh.rest.repos.add_collaborator(owner, name, other, permission="push")
    issue = gh.rest.issues.create(owner, name, title="Shape", labels=["bug"]).parsed_data
    gh.rest.issues.update(owner, name, issue.number, title="Shape!")
    gh.rest.issues.remove_label(owner, name, issue.number, "bug")
    comment = gh.rest.issues.create_comment(owner, name, issue.number, body="c").parsed_data
    gh.rest.issues.update_comment(owner, name, comment.id, body="d")
    gh.rest.issues.delete_comment(owner, name, comment.id)
    token = f"ghp_sim_{owner}"
    push_files(ghsim, full, token, "feature", {"a.txt": "a\n"}, tmp_path)
    pull = gh.rest.pulls.create(
        owner, name, title="P", head="feature", base="main", draft=True
    ).parsed_data
    push_files(ghsim, full, token, "feature", {"b.txt": "b\n"}, tmp_path, start="feature")
    gh.graphql(
        "mutation($id: ID!) { markPullRequestReadyForReview(input: "
        "{pullRequestId: $id}) { pullRequest { isDraft } } }",
        {"id": pull.node_id},
    )
    gh.rest.issues.add_labels(owner, name, pull.number, labels=["enhancement"])
    gh.rest.issues.remove_label(owner, name, pull.number, "enhancement")
    rv.rest.pulls.create_review(
        owner,
        name,
        pull.number,
        event="COMMENT",
        body="r",
        comments=[{"path": "a.txt", "line": 1, "body": "inline"}],
    )
    gh.rest.pulls.merge(owner, name, pull.number)

    expected = [
        ("issues", "opened"),
        ("issues", "labeled"),
        ("issues", "edited"),
        ("issues", "unlabeled"),
        ("issue_comment", "created"),
        ("issue_comment", "edited"),
        ("issue_comment", "deleted"),
        ("pull_request", "opened"),
        ("pull_request", "synchronize"),
        ("pull_request", "ready_for_review"),
        ("pull_request", "labeled"),
        ("pull_request", "unlabeled"),
        ("pull_request_review_comment", "created"),
        ("pull_request_review", "submitted"),
        ("pull_request", "closed"),
        ("push", None),
        ("create", None),
    ]
    for event, action in expected:
        assert_shaped_like_github(ghsim.receiver.wait_for(event, action, for_repo(full)))
    closed = ghsim.receiver.wait_for("pull_request", "closed", for_repo(full)).payload
    assert closed["pull_request"]["merged"] is True
    edited = ghsim.receiver.wait_for("issues", "edited", for_repo(full)).payload
    assert edited["changes"] == {"title": {"from": "Shape"}}
    installed = ghsim.receiver.wait_for("installation", "created")
    assert_shaped_like_github(installed)


def test_deliveries_keep_order_per_repository(ghsim: Ghsim) -> None:
    owner = unique("owner")
    gh = ghsim.person(owner)
    name = unique("repo")
    gh.rest.repos.create_for_authenticated_user(name=name)
    gh.rest.issues.create(owner, name, title="Busy")
    bodies = [f"comment {i}" for i in range(15)]
    for body in bodies:
        gh.rest.issues.create_comment(owner, name, 1, body=body)
    where = for_repo(f"{owner}/{name}")
    wait_until(lambda: len(ghsim.receiver.find("issue_comment", "created", where)) == 15)
    got = [
        d.payload["comment"]["body"] for d in ghsim.receiver.find("issue_comment", "created", where)
    ]
    assert got == bodies


def test_failed_deliveries_are_retried_listed_and_redeliverable(ghsim: Ghsim) -> None:
    owner = unique("owner")
    gh, app = ghsim.person(owner), ghsim.app()
    name = unique("repo")
    gh.rest.repos.create_for_authenticated_user(name=name)
    where = for_repo(f"{owner}/{name}")
    ghsim.receiver.status = 503
    try:
        gh.rest.issues.create(owner, name, title="Retry me")

        def failed_once() -> Any:
            for item in app.rest.apps.list_webhook_deliveries(per_page=100).parsed_data:
                if item.event == "issues" and item.status_code == 503:
                    return item
            return None

        failing = wait_until(failed_once, 10, "a failed attempt")
    finally:
        ghsim.receiver.status = 200
    first = ghsim.receiver.wait_for("issues", "opened", where, timeout=15)
    detail = app.rest.apps.get_webhook_delivery(failing.id).parsed_data
    assert detail.status_code == 200 and detail.status == "OK"
    assert detail.request.payload is not None and detail.request.headers is not None
    assert detail.request.payload.model_dump()["issue"]["title"] == "Retry me"
    assert detail.request.headers.model_dump()["X-GitHub-Delivery"] == failing.guid

    assert app.rest.apps.redeliver_webhook_delivery(failing.id).status_code == 202
    wait_until(lambda: len(ghsim.receiver.find("issues", "opened", where)) == 2)
    again = ghsim.receiver.find("issues", "opened", where)[-1]
    assert again.body == first.body
    assert again.headers["X-GitHub-Delivery"] == first.headers["X-GitHub-Delivery"]
    listed = app.rest.apps.list_webhook_deliveries(per_page=100).parsed_data
    assert any(d.redelivery and d.guid == failing.guid for d in listed)
