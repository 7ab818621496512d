"""ghsim's webhooks: signed like GitHub's, shaped like the recorded ones, ordered, listed and
redelivered through the API, never retried by themselves."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
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


def test_a_failed_delivery_is_listed_in_githubs_words_and_redeliverable(ghsim: Ghsim) -> None:
    owner = unique("owner")
    gh, app = ghsim.person(owner), ghsim.app()
    name = unique("repo")
    gh.rest.repos.create_for_authenticated_user(name=name)
    where = for_repo(f"{owner}/{name}")
    ghsim.receiver.status = 503
    try:
        issue = gh.rest.issues.create(owner, name, title="Redeliver me").parsed_data

        def failed() -> Any:
            listed = app.rest.apps.list_webhook_deliveries(per_page=100, status="failure")
            for item in listed.parsed_data:
                if item.event == "issues" and item.repository_id is not None:
                    detail = app.rest.apps.get_webhook_delivery(item.id).parsed_data
                    if detail.request.payload.model_dump()["issue"]["id"] == issue.id:
                        return item
            return None

        failing = wait_until(failed, 10, "a failed delivery")
    finally:
        ghsim.receiver.status = 200
    assert failing.status == "Invalid HTTP Response: 503" and failing.status_code == 503
    assert failing.redelivery is False and failing.action == "opened"
    detail = app.rest.apps.get_webhook_delivery(failing.id).parsed_data
    assert detail.request.headers is not None
    assert detail.request.headers.model_dump()["X-GitHub-Delivery"] == failing.guid
    assert detail.response.payload == "unavailable"
    # Nothing is sent again until someone asks.
    assert not ghsim.receiver.find("issues", "opened", where)

    assert app.rest.apps.redeliver_webhook_delivery(failing.id).status_code == 202
    again = ghsim.receiver.wait_for("issues", "opened", where)
    assert again.headers["X-GitHub-Delivery"] == failing.guid
    assert again.payload["issue"]["id"] == issue.id

    def redelivered() -> Any:
        listed = app.rest.apps.list_webhook_deliveries(per_page=100, status="success")
        return next((d for d in listed.parsed_data if d.guid == failing.guid), None)

    copy = wait_until(redelivered, 10, "the redelivery listed")
    assert copy.redelivery is True and copy.id > failing.id
    assert copy.status == "OK" and copy.status_code == 200
    # The failed one stays as it was, beside the new one.
    original = app.rest.apps.get_webhook_delivery(failing.id).parsed_data
    assert original.status_code == 503 and original.redelivery is False


def test_deliveries_are_listed_newest_first_in_cursor_pages(ghsim: Ghsim) -> None:
    owner = unique("owner")
    gh, app = ghsim.person(owner), ghsim.app()
    name = unique("repo")
    gh.rest.repos.create_for_authenticated_user(name=name)
    gh.rest.issues.create(owner, name, title="Paged")
    for i in range(4):
        gh.rest.issues.create_comment(owner, name, 1, body=f"c{i}")
    where = for_repo(f"{owner}/{name}")
    wait_until(lambda: len(ghsim.receiver.find("issue_comment", "created", where)) == 4)

    def everything() -> list[int]:
        listed = app.rest.apps.list_webhook_deliveries(per_page=100).parsed_data
        return [d.id for d in listed]

    wait_until(lambda: len(everything()) >= 5, 10, "5 deliveries listed")
    newest = everything()[:5]
    assert newest == sorted(newest, reverse=True)

    first = app.rest.apps.list_webhook_deliveries(per_page=2)
    assert [d.id for d in first.parsed_data] == newest[:2]
    links = first.headers["link"]
    assert 'rel="next"' in links and 'rel="prev"' not in links
    next_url = links.split(">")[0].lstrip("<")
    cursor = httpx.URL(next_url).params["cursor"]
    second = app.rest.apps.list_webhook_deliveries(per_page=2, cursor=cursor)
    assert [d.id for d in second.parsed_data] == newest[2:4]
    rels = dict(
        (part.split('rel="')[1].rstrip('"'), part.split(">")[0].strip(" <"))
        for part in second.headers["link"].split(",")
    )
    assert set(rels) == {"next", "prev", "first"}
    prev = httpx.URL(rels["prev"]).params["cursor"]
    back = app.rest.apps.list_webhook_deliveries(per_page=2, cursor=prev)
    assert [d.id for d in back.parsed_data] == newest[:2]
    assert "cursor" not in httpx.URL(rels["first"]).params

    bad = httpx.get(
        f"{ghsim.api_url}app/hook/deliveries",
        params={"cursor": "nonsense"},
        headers={"Authorization": f"Bearer {_jwt(ghsim)}"},
    )
    assert bad.status_code == 400


def _jwt(ghsim: Ghsim) -> str:
    import jwt

    now = int(time.time())
    info = ghsim.app_info
    claims = {"iat": now - 30, "exp": now + 300, "iss": str(info["app_id"])}
    return jwt.encode(claims, ghsim.private_key, algorithm="RS256")
