"""ghsim's REST API through githubkit: every endpoint round-trips into githubkit's models."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
from githubkit.exception import RequestFailed

from tests.ghsim_support import Ghsim, push_files, unique


def status_of(call: Any, *args: Any, **kwargs: Any) -> int:
    with pytest.raises(RequestFailed) as failure:
        call(*args, **kwargs)
    return failure.value.response.status_code


def new_repo(ghsim: Ghsim, owner: str) -> str:
    name = unique("repo")
    ghsim.person(owner).rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    return name


def test_people_tokens_and_errors(ghsim: Ghsim) -> None:
    alice = unique("alice")
    gh = ghsim.person(alice)
    me = gh.rest.users.get_authenticated().parsed_data
    assert me.login == alice and me.type == "User"
    assert gh.rest.users.get_by_username(alice).parsed_data.id == me.id
    assert status_of(gh.rest.users.get_by_username, unique("nobody")) == 404

    raw = httpx.get(f"{ghsim.api_url}user", headers={"Authorization": "token wrong"})
    assert raw.status_code == 401
    assert raw.json()["message"] == "Bad credentials" and "documentation_url" in raw.json()
    anonymous = httpx.get(f"{ghsim.api_url}user")
    assert anonymous.status_code == 401
    ok = httpx.get(f"{ghsim.api_url}user", headers={"Authorization": f"Bearer ghp_sim_{alice}"})
    assert ok.status_code == 200
    for header in ("Limit", "Remaining", "Reset", "Used", "Resource"):
        assert f"X-RateLimit-{header}" in ok.headers
    assert int(ok.headers["X-RateLimit-Remaining"]) < int(ok.headers["X-RateLimit-Limit"])


def test_bodies_are_json_whatever_their_content_type(ghsim: Ghsim) -> None:
    """``curl -d`` sends a form Content-Type and some clients none; GitHub reads JSON anyway."""
    owner, name = unique("curl"), unique("repo")
    token = {"Authorization": f"token ghp_sim_{owner}"}
    form = {**token, "Content-Type": "application/x-www-form-urlencoded"}
    body = f'{{"name":"{name}","description":"from curl"}}'
    created = httpx.post(f"{ghsim.api_url}user/repos", content=body, headers=form)
    assert created.status_code == 201, created.text
    assert created.json()["full_name"] == f"{owner}/{name}"
    assert created.json()["description"] == "from curl"
    untyped = httpx.post(
        f"{ghsim.api_url}repos/{owner}/{name}/issues", content=b'{"title":"No type"}', headers=token
    )
    assert "content-type" not in untyped.request.headers
    assert untyped.status_code == 201, untyped.text
    assert untyped.json()["title"] == "No type"
    broken = httpx.post(f"{ghsim.api_url}user/repos", content="name=x", headers=form)
    assert broken.status_code == 422


def test_app_jwt_installation_and_tokens(ghsim: Ghsim) -> None:
    app = ghsim.app()
    info = ghsim.app_info
    me = app.rest.apps.get_authenticated().parsed_data
    assert me is not None and me.id == info["app_id"] and me.slug == info["slug"]
    installations = app.rest.apps.list_installations().parsed_data
    assert [i.id for i in installations] == [info["installation_id"]]
    assert app.rest.apps.get_installation(info["installation_id"]).parsed_data.app_id == me.id
    owner = unique("owner")
    name = new_repo(ghsim, owner)
    assert (
        app.rest.apps.get_repo_installation(owner, name).parsed_data.id == info["installation_id"]
    )
    token = app.rest.apps.create_installation_access_token(info["installation_id"]).parsed_data
    assert token.token.startswith("ghs_") and token.expires_at

    bot = ghsim.installation()
    repo = bot.rest.repos.get(owner, name).parsed_data
    assert repo.full_name == f"{owner}/{name}"
    issue = bot.rest.issues.create(owner, name, title="from the bot").parsed_data
    assert issue.user is not None and issue.user.login == info["bot_login"]
    assert issue.user.type == "Bot"

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    assert status_of(ghsim.app(other).rest.apps.get_authenticated) == 401
    assert status_of(ghsim.person(owner).rest.apps.get_authenticated) == 401


def test_repositories_contents_branches_and_refs(ghsim: Ghsim, tmp_path: Path) -> None:
    owner = unique("owner")
    gh = ghsim.person(owner)
    name = unique("repo")
    created = gh.rest.repos.create_for_authenticated_user(
        name=name, description="demo", auto_init=True
    ).parsed_data
    assert created.default_branch == "main" and created.owner.login == owner
    assert status_of(gh.rest.repos.create_for_authenticated_user, name=name) == 422
    org = unique("org")
    in_org = gh.rest.repos.create_in_org(org, name="tools").parsed_data
    assert in_org.full_name == f"{org}/tools" and in_org.owner.type == "Organization"
    assert gh.rest.repos.get(owner, name).parsed_data.description == "demo"
    assert status_of(gh.rest.repos.get, owner, unique("missing")) == 404

    readme = gh.rest.repos.get_content(owner, name, "README.md").parsed_data
    assert not isinstance(readme, list) and readme.type == "file"
    assert base64.b64decode(readme.content).decode().startswith(f"# {name}")
    sha = push_files(
        ghsim,
        f"{owner}/{name}",
        f"ghp_sim_{owner}",
        "feature",
        {"src/app.py": "print('hi')\n"},
        tmp_path,
    )
    listing = gh.rest.repos.get_content(owner, name, "src", ref="feature").parsed_data
    assert isinstance(listing, list) and [e.path for e in listing] == ["src/app.py"]
    root = gh.rest.repos.get_content(owner, name, "", ref="feature").parsed_data
    assert isinstance(root, list) and {e.type for e in root} == {"file", "dir"}
    assert status_of(gh.rest.repos.get_content, owner, name, "src/app.py") == 404

    branches = gh.rest.repos.list_branches(owner, name).parsed_data
    assert sorted(b.name for b in branches) == ["feature", "main"]
    branch = gh.rest.repos.get_branch(owner, name, "feature").parsed_data
    assert branch.commit.sha == sha
    commit = gh.rest.repos.get_commit(owner, name, sha).parsed_data
    assert commit.sha == sha and commit.files and commit.files[0].filename == "src/app.py"

    ref = gh.rest.git.get_ref(owner, name, "heads/feature").parsed_data
    assert ref.object_.sha == sha
    assert status_of(gh.rest.git.get_ref, owner, name, "heads/nope") == 404
    main_sha = gh.rest.git.get_ref(owner, name, "heads/main").parsed_data.object_.sha
    made = gh.rest.git.create_ref(owner, name, ref="refs/heads/topic", sha=main_sha).parsed_data
    assert made.ref == "refs/heads/topic"
    assert (
        status_of(gh.rest.git.create_ref, owner, name, ref="refs/heads/topic", sha=main_sha) == 422
    )
    matching = gh.rest.git.list_matching_refs(owner, name, "heads/t").parsed_data
    assert [r.ref for r in matching] == ["refs/heads/topic"]
    moved = gh.rest.git.update_ref(owner, name, "heads/topic", sha=sha).parsed_data
    assert moved.object_.sha == sha
    assert status_of(gh.rest.git.update_ref, owner, name, "heads/topic", sha=main_sha) == 422
    gh.rest.git.update_ref(owner, name, "heads/topic", sha=main_sha, force=True)
    gh.rest.git.delete_ref(owner, name, "heads/topic")
    assert status_of(gh.rest.git.get_ref, owner, name, "heads/topic") == 404
    stranger = ghsim.person(unique("stranger"))
    assert (
        status_of(stranger.rest.git.create_ref, owner, name, ref="refs/heads/x", sha=main_sha)
        == 403
    )


def test_collaborators_and_permissions(ghsim: Ghsim) -> None:
    owner, dev, viewer = unique("owner"), unique("dev"), unique("viewer")
    name = new_repo(ghsim, owner)
    gh = ghsim.person(owner)
    ghsim.person(viewer).rest.users.get_authenticated()
    invite = gh.rest.repos.add_collaborator(owner, name, dev, permission="push")
    assert invite.status_code == 201 and invite.parsed_data is not None
    assert invite.parsed_data.invitee is not None and invite.parsed_data.invitee.login == dev
    assert (
        gh.rest.repos.add_collaborator(owner, name, dev, permission="maintain").status_code == 204
    )
    logins = [c.login for c in gh.rest.repos.list_collaborators(owner, name).parsed_data]
    assert logins == [owner, dev]

    def level(login: str) -> tuple[str, str]:
        found = gh.rest.repos.get_collaborator_permission_level(owner, name, login).parsed_data
        assert found.user is not None and found.user.login == login
        return found.permission, found.role_name

    assert level(owner) == ("admin", "admin")
    assert level(dev) == ("write", "maintain")
    assert level(viewer) == ("read", "read")
    gh.rest.repos.add_collaborator(owner, name, viewer, permission="triage")
    assert level(viewer) == ("read", "triage")
    assert status_of(ghsim.person(dev).rest.repos.add_collaborator, owner, name, unique("x")) == 403


def test_issues_labels_comments_and_reactions(ghsim: Ghsim) -> None:
    owner, reader = unique("owner"), unique("reader")
    name = new_repo(ghsim, owner)
    gh = ghsim.person(owner)
    first = gh.rest.issues.create(
        owner, name, title="First", body="text", labels=["bug", "pilot"]
    ).parsed_data
    assert first.number == 1 and [label.name for label in first.labels] == ["bug", "pilot"]
    second = gh.rest.issues.create(owner, name, title="Second").parsed_data
    assert gh.rest.issues.get(owner, name, first.number).parsed_data.title == "First"
    assert status_of(gh.rest.issues.get, owner, name, 99) == 404
    assert status_of(gh.rest.issues.create, owner, name, title="") == 422

    listed = gh.rest.issues.list_for_repo(owner, name, labels="pilot").parsed_data
    assert [i.number for i in listed] == [first.number]
    page = gh.rest.issues.list_for_repo(owner, name, per_page=1)
    assert [i.number for i in page.parsed_data] == [second.number]
    assert 'rel="next"' in page.headers["Link"] and 'rel="last"' in page.headers["Link"]

    edited = gh.rest.issues.update(
        owner, name, first.number, title="First!", body="more", assignees=[owner]
    ).parsed_data
    assert edited.title == "First!" and edited.body == "more"
    assert edited.assignees and edited.assignees[0].login == owner
    closed = gh.rest.issues.update(
        owner, name, second.number, state="closed", state_reason="not_planned"
    ).parsed_data
    assert closed.state == "closed" and closed.state_reason == "not_planned"
    assert [
        i.number for i in gh.rest.issues.list_for_repo(owner, name, state="closed").parsed_data
    ] == [second.number]
    assert (
        gh.rest.issues.update(owner, name, second.number, state="open").parsed_data.state == "open"
    )

    added = gh.rest.issues.add_labels(owner, name, first.number, labels=["question"]).parsed_data
    assert [label.name for label in added] == ["bug", "pilot", "question"]
    remaining = gh.rest.issues.remove_label(owner, name, first.number, "bug").parsed_data
    assert [label.name for label in remaining] == ["pilot", "question"]
    assert status_of(gh.rest.issues.remove_label, owner, name, first.number, "bug") == 404
    replaced = gh.rest.issues.set_labels(owner, name, first.number, labels=["wontfix"])
    assert [label.name for label in replaced.parsed_data] == ["wontfix"]
    on_issue = gh.rest.issues.list_labels_on_issue(owner, name, first.number).parsed_data
    assert [label.name for label in on_issue] == ["wontfix"]
    made = gh.rest.issues.create_label(owner, name, name="area/ui", color="112233").parsed_data
    assert made.name == "area/ui" and made.color == "112233"
    repo_labels = {
        x.name for x in gh.rest.issues.list_labels_for_repo(owner, name, per_page=100).parsed_data
    }
    assert {"bug", "pilot", "area/ui"} <= repo_labels
    assert (
        status_of(
            ghsim.person(reader).rest.issues.add_labels, owner, name, first.number, labels=["x"]
        )
        == 403
    )

    other = ghsim.person(reader)
    comment = other.rest.issues.create_comment(owner, name, first.number, body="hi").parsed_data
    assert comment.author_association == "NONE" and comment.body == "hi"
    gh.rest.issues.create_comment(owner, name, second.number, body="on second")
    assert [c.id for c in gh.rest.issues.list_comments(owner, name, first.number).parsed_data] == [
        comment.id
    ]
    assert len(gh.rest.issues.list_comments_for_repo(owner, name).parsed_data) == 2
    assert gh.rest.issues.get_comment(owner, name, comment.id).parsed_data.body == "hi"
    assert (
        other.rest.issues.update_comment(owner, name, comment.id, body="hello").parsed_data.body
        == "hello"
    )
    assert (
        status_of(
            ghsim.person(unique("x")).rest.issues.update_comment, owner, name, comment.id, body="no"
        )
        == 403
    )

    reaction = gh.rest.reactions.create_for_issue(owner, name, first.number, content="rocket")
    assert reaction.status_code == 201 and reaction.parsed_data.content == "rocket"
    again = gh.rest.reactions.create_for_issue(owner, name, first.number, content="rocket")
    assert again.status_code == 200 and again.parsed_data.id == reaction.parsed_data.id
    assert [
        r.content for r in gh.rest.reactions.list_for_issue(owner, name, first.number).parsed_data
    ] == ["rocket"]
    gh.rest.reactions.create_for_issue_comment(owner, name, comment.id, content="+1")
    listed_reactions = gh.rest.reactions.list_for_issue_comment(owner, name, comment.id)
    assert [r.content for r in listed_reactions.parsed_data] == ["+1"]
    rollup = gh.rest.issues.get_comment(owner, name, comment.id).parsed_data.reactions
    assert rollup is not None and rollup.plus_one == 1 and rollup.total_count == 1

    reaction_id = reaction.parsed_data.id
    assert (
        status_of(other.rest.reactions.delete_for_issue, owner, name, first.number, reaction_id)
        == 403
    )
    gh.rest.reactions.delete_for_issue(owner, name, first.number, reaction_id)
    assert gh.rest.reactions.list_for_issue(owner, name, first.number).parsed_data == []

    gh.rest.issues.delete_comment(owner, name, comment.id)
    assert status_of(gh.rest.issues.get_comment, owner, name, comment.id) == 404


def test_pull_requests_reviews_and_merge(ghsim: Ghsim, tmp_path: Path) -> None:
    owner, reviewer = unique("owner"), unique("reviewer")
    name = new_repo(ghsim, owner)
    gh, rv = ghsim.person(owner), ghsim.person(reviewer)
    gh.rest.repos.add_collaborator(owner, name, reviewer, permission="push")
    head_sha = push_files(
        ghsim,
        f"{owner}/{name}",
        f"ghp_sim_{owner}",
        "feature",
        {"README.md": "# changed\nline two\n", "new.txt": "new\n"},
        tmp_path,
    )
    assert status_of(gh.rest.pulls.create, owner, name, title="t", head="main", base="main") == 422
    assert status_of(gh.rest.pulls.create, owner, name, title="t", head="nope", base="main") == 422
    pull = gh.rest.pulls.create(
        owner,
        name,
        title="Change",
        head=f"{owner}:feature",
        base="main",
        body="Closes #1",
        draft=True,
    ).parsed_data
    assert pull.draft and pull.head.sha == head_sha and pull.mergeable_state == "draft"
    assert pull.changed_files == 2 and pull.commits == 1
    assert (
        status_of(gh.rest.pulls.create, owner, name, title="again", head="feature", base="main")
        == 422
    )
    as_issue = gh.rest.issues.get(owner, name, pull.number).parsed_data
    assert as_issue.pull_request is not None
    gh.rest.issues.create_comment(owner, name, pull.number, body="conversation")

    assert gh.rest.pulls.get(owner, name, pull.number).parsed_data.title == "Change"
    assert [
        p.number for p in gh.rest.pulls.list(owner, name, head=f"{owner}:feature").parsed_data
    ] == [pull.number]
    assert gh.rest.pulls.list(owner, name, base="other").parsed_data == []
    assert gh.rest.pulls.list(owner, name, state="closed").parsed_data == []
    updated = gh.rest.pulls.update(owner, name, pull.number, title="Change it").parsed_data
    assert updated.title == "Change it"
    files = gh.rest.pulls.list_files(owner, name, pull.number).parsed_data
    assert sorted(f.filename for f in files) == ["README.md", "new.txt"]
    assert all(f.patch and f.patch.startswith("@@") for f in files)
    commits = gh.rest.pulls.list_commits(owner, name, pull.number).parsed_data
    assert [c.sha for c in commits] == [head_sha]

    comment = rv.rest.pulls.create_review_comment(
        owner,
        name,
        pull.number,
        body="why?",
        commit_id=head_sha,
        path="README.md",
        line=2,
        side="RIGHT",
    ).parsed_data
    assert comment.line == 2 and comment.diff_hunk.endswith("+line two")
    reply = gh.rest.pulls.create_reply_for_review_comment(
        owner, name, pull.number, comment.id, body="because"
    ).parsed_data
    assert reply.in_reply_to_id == comment.id and reply.path == "README.md"
    assert (
        status_of(
            rv.rest.pulls.create_review_comment,
            owner,
            name,
            pull.number,
            body="x",
            commit_id=head_sha,
            path="README.md",
            line=40,
        )
        == 422
    )
    review = rv.rest.pulls.create_review(
        owner,
        name,
        pull.number,
        event="REQUEST_CHANGES",
        body="please fix",
        comments=[{"path": "new.txt", "line": 1, "body": "rename"}],
    ).parsed_data
    assert review.state == "CHANGES_REQUESTED"
    assert status_of(gh.rest.pulls.create_review, owner, name, pull.number, event="APPROVE") == 422
    rv.rest.pulls.create_review(owner, name, pull.number, event="APPROVE")
    states = [r.state for r in gh.rest.pulls.list_reviews(owner, name, pull.number).parsed_data]
    assert states == ["COMMENTED", "COMMENTED", "CHANGES_REQUESTED", "APPROVED"]
    review_comments = gh.rest.pulls.list_review_comments(owner, name, pull.number).parsed_data
    assert [c.body for c in review_comments] == ["why?", "because", "rename"]

    assert status_of(gh.rest.pulls.merge, owner, name, pull.number) == 405
    ready = gh.graphql(
        "mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) "
        "{ pullRequest { isDraft } } }",
        {"id": pull.node_id},
    )
    assert ready["markPullRequestReadyForReview"]["pullRequest"]["isDraft"] is False
    assert gh.rest.pulls.get(owner, name, pull.number).parsed_data.mergeable_state == "clean"
    assert status_of(rv.rest.pulls.merge, owner, name, pull.number, sha="0" * 40) == 409
    merged = rv.rest.pulls.merge(owner, name, pull.number).parsed_data
    assert merged.merged and merged.sha
    after = gh.rest.pulls.get(owner, name, pull.number).parsed_data
    assert after.merged and after.state == "closed"
    assert after.merged_by is not None and after.merged_by.login == reviewer
    main = gh.rest.repos.get_branch(owner, name, "main").parsed_data
    assert main.commit.sha == merged.sha and len(main.commit.parents) == 2
    assert status_of(gh.rest.pulls.merge, owner, name, pull.number) == 405
    assert [p.number for p in gh.rest.pulls.list(owner, name, state="closed").parsed_data] == [
        pull.number
    ]


def test_conflicting_pull_request_is_not_mergeable(ghsim: Ghsim, tmp_path: Path) -> None:
    owner = unique("owner")
    name = new_repo(ghsim, owner)
    gh = ghsim.person(owner)
    token = f"ghp_sim_{owner}"
    push_files(ghsim, f"{owner}/{name}", token, "one", {"README.md": "one\n"}, tmp_path)
    push_files(ghsim, f"{owner}/{name}", token, "two", {"README.md": "two\n"}, tmp_path)
    first = gh.rest.pulls.create(owner, name, title="one", head="one", base="main").parsed_data
    second = gh.rest.pulls.create(owner, name, title="two", head="two", base="main").parsed_data
    gh.rest.pulls.merge(owner, name, first.number, merge_method="squash")
    assert gh.rest.pulls.get(owner, name, second.number).parsed_data.mergeable is False
    assert status_of(gh.rest.pulls.merge, owner, name, second.number) == 405
    closed = gh.rest.pulls.update(owner, name, second.number, state="closed").parsed_data
    assert closed.state == "closed" and not closed.merged


def test_graphql_errors(ghsim: Ghsim) -> None:
    gh = ghsim.person(unique("someone"))
    with pytest.raises(Exception, match="Could not resolve"):
        gh.graphql(
            'mutation { markPullRequestReadyForReview(input: {pullRequestId: "nope"})'
            " { pullRequest { isDraft } } }"
        )
    anonymous = httpx.post(f"{ghsim.base_url}/api/graphql", json={"query": "{ viewer { id } }"})
    assert anonymous.status_code == 401


def test_html_view_shows_repositories_conversations_and_diffs(ghsim: Ghsim, tmp_path: Path) -> None:
    owner = unique("owner")
    name = new_repo(ghsim, owner)
    gh = ghsim.person(owner)
    gh.rest.issues.create(owner, name, title="Visible issue", labels=["bug"])
    push_files(
        ghsim,
        f"{owner}/{name}",
        f"ghp_sim_{owner}",
        "feature",
        {"shown.txt": "diff line\n"},
        tmp_path,
    )
    pull = gh.rest.pulls.create(
        owner, name, title="Visible PR", head="feature", base="main"
    ).parsed_data
    gh.rest.issues.create_comment(owner, name, pull.number, body="a <b>comment</b>")
    index = httpx.get(f"{ghsim.base_url}/")
    assert index.status_code == 200 and f"{owner}/{name}" in index.text
    page = httpx.get(f"{ghsim.base_url}/{owner}/{name}")
    assert "Visible issue" in page.text and "Visible PR" in page.text
    detail = httpx.get(f"{ghsim.base_url}/{owner}/{name}/pull/{pull.number}")
    assert detail.status_code == 200
    assert "+diff line" in detail.text and "<p>a <b>comment</b></p>" in detail.text
    assert "Checks" in detail.text
    assert httpx.get(f"{ghsim.base_url}/{owner}/{name}/issues/99").status_code == 404


def test_repository_permissions_follow_the_caller(ghsim: Ghsim) -> None:
    owner = unique("owner")
    name = new_repo(ghsim, owner)
    mine = ghsim.person(owner).rest.repos.get(owner, name).parsed_data.permissions
    theirs = ghsim.person(unique("other")).rest.repos.get(owner, name).parsed_data.permissions
    assert mine is not None and mine.admin and mine.push
    assert theirs is not None and theirs.pull and not theirs.push
