"""A status comment whose state block cannot be read: reported once, the run rests failed with
what could be read, and is never started over as if it had no state."""

from __future__ import annotations

from bot.github.api import Repo
from bot.github.backend import GitHubKitApp
from bot.github.status_comment import parse_state, render_status
from bot.run.host import GitHubRunHost
from bot.run.state import Phase, RunState
from bot.run.unreadable_state import UNREADABLE, read_state
from tests.fake_github import FakeGitHub

REPO = Repo("octo", "cat")
STATE = RunState(
    5,
    "alice",
    Phase.AWAIT_CI,
    branch="pilot/issue-5-fix-add",
    pr_number=9,
    attempt=2,
    prompt_tokens=1000,
    completion_tokens=200,
    handled=["ci:abc"],
    tree=[{"id": "R1", "title": "Fix", "status": "done"}],
)


async def _host(github_app: GitHubKitApp, fake: FakeGitHub) -> GitHubRunHost:
    gh = await github_app.client(REPO, fake.installation_id)
    return GitHubRunHost(github_app, gh, REPO, 5, command_prefix="/bot")


async def test_a_block_cut_short_fails_the_run_once_with_what_could_be_read(
    github_app: GitHubKitApp, fake_github: FakeGitHub
) -> None:
    host = await _host(github_app, fake_github)
    whole = render_status("Waiting for CI.", STATE.to_dict())
    broken = whole[: whole.index('"tree"') + 10]  # an edit that lost the end of the block
    await (await github_app.client(REPO, 1)).create_comment(REPO, 5, broken)

    state = await host.load_state()

    assert state is not None and state.phase is Phase.FAILED and state.error == UNREADABLE
    assert (state.branch, state.pr_number, state.attempt) == ("pilot/issue-5-fix-add", 9, 2)
    assert state.requested_by == "alice" and state.usage.total == 1200
    status, notice = fake_github.comment_bodies(5)
    saved = parse_state(status)
    assert saved is not None and saved["phase"] == "failed" and saved["error"] == UNREADABLE
    assert "could not be read" in status  # the headline says it too
    assert "@alice" in notice and "`/bot retry`" in notice and "pull request #9" in notice

    # The next job reads the failed run, and says nothing more.
    again = await (await _host(github_app, fake_github)).load_state()
    assert again is not None and again.phase is Phase.FAILED and again.pr_number == 9
    assert len(fake_github.comment_bodies(5)) == 2


async def test_each_breakage_is_told_once(
    github_app: GitHubKitApp, fake_github: FakeGitHub
) -> None:
    gh = await github_app.client(REPO, 1)
    status = await gh.create_comment(REPO, 5, '<!-- pilot:state {"phase": -->')
    await (await _host(github_app, fake_github)).load_state()
    # Someone puts the same broken text back, then breaks it another way.
    await gh.update_comment(REPO, status.id, '<!-- pilot:state {"phase": -->')
    await (await _host(github_app, fake_github)).load_state()
    assert len(fake_github.comment_bodies(5)) == 2
    await gh.update_comment(REPO, status.id, '<!-- pilot:state {"phase": "nonsense"} -->')
    state = await (await _host(github_app, fake_github)).load_state()
    assert state is not None and state.phase is Phase.FAILED and state.requested_by == ""
    assert len(fake_github.comment_bodies(5)) == 3


def test_json_that_is_no_state_reads_as_unreadable() -> None:
    for block in ('{"phase": "bogus", "issue": 1, "requested_by": "a"}', '{"phase": "plan"}'):
        assert read_state(f"<!-- pilot:state {block} -->") is None
    assert read_state(render_status("Queued.", STATE.to_dict())) == STATE
