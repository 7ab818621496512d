"""Steered code is held, on the run engine with an in-memory host and a local bare remote: an
outsider's issue puts the work on refs/pilot/<n> with its diff posted, and a writer's
`approve` moves exactly the reviewed commit to the branch and opens the pull request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.agent.llm import OpenAICompatibleLLM
from bot.dev.scripted_model import ScriptedModel
from bot.run.controller import Controller
from bot.run.state import Phase, RunState
from tests.run.test_controller import BRANCH, GREET, R1, Harness, harness
from tests.run_fakes import branches, call, file_at, git, plan_call

HELD_REF = "refs/pilot/7"


def script() -> list[dict[str, Any]]:
    return [
        plan_call(R1),
        call("write_file", path="greet.py", content=GREET),
        call("finish", summary="greet() added."),
    ]


def refs(remote: Path) -> dict[str, str]:
    out = git(remote, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines())


async def command(h: Harness, name: str, comment_id: int, args: str = "") -> RunState | None:
    event = {
        "kind": "command",
        "name": name,
        "args": args,
        "sender": "alice",
        "comment_id": comment_id,
        "number": 7,
    }
    return await Controller(h.deps, h.host, h.run_id, "").handle(event)


def outsiders_issue(h: Harness) -> None:
    h.host.issue_author_login = "mallory"
    h.host.roles["mallory"] = "read"


async def test_an_outsiders_issue_is_held_then_approved_onto_the_branch(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, script())
    outsiders_issue(h)

    state = await h.run()

    assert state.phase is Phase.HELD, h.host.notes
    assert state.hold is not None and state.hold["outsiders"] == ["mallory"]
    sha = state.hold["shown"]
    assert refs(h.remote)[HELD_REF] == sha == state.head_sha
    assert BRANCH not in branches(h.remote) and h.host.open_calls == 0
    [review] = [body for key, body in h.host.notes.items() if key == f"held-{sha}"]
    assert "```diff\n" in review and "+def greet(name: str) -> str:" in review
    assert f"approve {sha[:12]}" in review and HELD_REF in review
    assert "@\u200dmallory" in review  # named, not pinged

    assert (await command(h, "approve", 30, "0000000 is what I read")) is not None
    assert "is not the commit posted for review" in h.host.notes["cmd-30"]
    assert BRANCH not in branches(h.remote)

    after = await command(h, "approve", 31)

    assert after is not None and after.phase is Phase.AWAIT_CI, h.host.notes
    assert branches(h.remote)[BRANCH] == sha and HELD_REF not in refs(h.remote)
    assert after.hold is not None and after.hold["state"] == "released"
    assert after.hold["approved_by"] == "alice" and after.ci_sha == sha
    assert [p.branch for p in h.host.pulls] == [BRANCH]
    assert "the pull request is open" in h.host.notes["cmd-31"]
    assert file_at(h.remote, BRANCH, "greet.py") == GREET


async def test_a_writers_own_issue_goes_straight_to_the_branch(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, script())

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI, h.host.notes
    assert state.hold is not None and state.hold["state"] == "free"
    assert BRANCH in branches(h.remote) and not any(
        r.startswith("refs/pilot/") for r in refs(h.remote)
    )


async def test_hold_always_holds_a_writers_issue(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, "hold: always\n", script())

    state = await h.run()

    assert state.phase is Phase.HELD and HELD_REF in refs(h.remote)
    assert BRANCH not in branches(h.remote) and h.host.open_calls == 0


async def test_hold_never_lets_an_outsiders_issue_through(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, "hold: never\n", script())
    outsiders_issue(h)

    state = await h.run()

    assert state.phase is Phase.AWAIT_CI and BRANCH in branches(h.remote)
    assert HELD_REF not in refs(h.remote)


async def test_approve_while_held_work_goes_on_is_refused(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    # The agent asks instead of finishing: the run parks with its work held, nothing shown.
    asks = [plan_call(R1), call("ask_human", question="Which greeting?")]
    h = harness(tmp_path, model, llm, None, None, asks)
    outsiders_issue(h)

    state = await h.run()
    assert state.phase is Phase.ASKED

    after = await command(h, "approve", 40)

    assert after is not None and after.phase is Phase.ASKED
    assert "still going on" in h.host.notes["cmd-40"]
    assert BRANCH not in branches(h.remote) and h.host.open_calls == 0
