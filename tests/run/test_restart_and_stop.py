"""A request to run reconciled with the run it finds (never a stub over its state), and stop
winning over a start: what the label, `/pilot run` and replays make of a run."""

from __future__ import annotations

from pathlib import Path

from bot.agent.llm import OpenAICompatibleLLM
from bot.core.branches import is_run_branch
from bot.core.signals import MemoryRunSignals
from bot.dev.scripted_model import ScriptedModel
from bot.run.restart import asked_again, next_branch
from bot.run.state import Phase, RunState
from tests.run.test_controller import R1, harness
from tests.run_fakes import branches, call, plan_call

BRANCH = "pilot/issue-7-greet-people-by-name"


def ended(phase: Phase, at: float = 100.0) -> RunState:
    state = RunState(7, "alice", phase, branch=BRANCH, base_branch="main", pr_number=3)
    state.prompt_tokens, state.completion_tokens = 900, 100
    state.handled = ["ci:abc", "review:5"]
    state.iterations = 2
    state.ci_attempt = 3
    state.tree = [{"id": "R1", "status": "done"}]
    state.ended_at = at
    return state


def test_a_live_run_is_left_as_it_is() -> None:
    for phase in (Phase.QUEUED, Phase.EXECUTE, Phase.AWAIT_CI, Phase.ASKED, Phase.READY):
        assert asked_again(ended(phase), "bob", 200.0) is None


def test_after_a_stop_a_new_attempt_keeps_branch_pull_request_and_counters() -> None:
    again = asked_again(ended(Phase.STOPPED), "bob", 200.0)
    assert again is not None
    assert (again.phase, again.attempt, again.requested_by) == (Phase.QUEUED, 2, "bob")
    assert (again.branch, again.pr_number) == (BRANCH, 3)
    assert again.handled == ["ci:abc", "review:5"] and again.iterations == 2
    assert (again.prompt_tokens, again.completion_tokens) == (900, 100)
    assert again.budget_tokens_used == 0  # a fresh budget, the spending kept on record
    assert again.ci_attempt == 0 and again.tree is None and again.ended_at is None


def test_after_a_merge_a_new_attempt_gets_a_new_branch_and_no_pull_request() -> None:
    again = asked_again(ended(Phase.MERGED), "bob", 200.0)
    assert again is not None
    assert again.branch == f"{BRANCH}-a2" and again.pr_number is None
    assert again.snapshot is None  # the issue as it reads now
    assert again.handled == ["ci:abc", "review:5"]


def test_a_request_made_before_the_ending_is_a_replay_and_starts_nothing() -> None:
    assert asked_again(ended(Phase.MERGED, at=100.0), "bob", 99.0) is None
    assert asked_again(ended(Phase.FAILED, at=100.0), "bob", 100.0) is None


def test_next_branch_stays_a_run_branch_of_the_issue() -> None:
    long = "pilot/issue-7-" + "x" * 40
    for branch in (BRANCH, long, f"{BRANCH}-a2"):
        following = next_branch(branch, 3)
        assert following.endswith("-a3") and is_run_branch(following, 7), following
    assert next_branch(f"{BRANCH}-a2", 3) == f"{BRANCH}-a3"


async def test_a_run_closed_while_queued_never_starts(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [plan_call(R1)])
    h.host.issue_open = False

    state = await h.run()

    assert state.phase is Phase.STOPPED
    assert "closed" in h.host.reports[-1].headline
    assert h.requests() == [] and h.sandboxes.sessions == 0
    assert list(branches(h.remote)) == ["main"]


async def test_a_run_unlabelled_while_queued_never_starts_unless_a_command_asked(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [plan_call(R1), call("ask_human", question="?")])
    h.host.issue_labels = ()
    assert (await h.run()).phase is Phase.STOPPED
    assert h.requests() == []

    (tmp_path / "2").mkdir()
    h2 = harness(
        tmp_path / "2", model, llm, None, None, [plan_call(R1), call("ask_human", question="?")]
    )
    h2.host.issue_labels = ()
    h2.host.saved.append(RunState(7, "alice", trigger="command").to_dict())
    assert (await h2.run()).phase is Phase.ASKED


async def test_a_stop_asked_after_the_request_wins_and_an_older_one_is_cleared(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [plan_call(R1), call("ask_human", question="?")])
    signals = h.deps.signals = MemoryRunSignals()
    target = await h.host.target()
    await signals.request_stop(target.key, 7)
    flag = await signals.stop_flag(target.key, 7)
    assert flag is not None

    # Asked before the stop: stopped before it started.
    stopped = await h.controller("alice").run(asked_at=flag.at - 1)
    assert stopped.phase is Phase.STOPPED and h.requests() == []

    # Asked again after it (a new label): the old flag was for the run that stopped.
    await signals.request_stop(target.key, 7)
    flag = await signals.stop_flag(target.key, 7)
    assert flag is not None
    again = await h.controller("alice").run(asked_at=flag.at + 1)
    assert again.phase is Phase.ASKED and again.attempt == 2
    assert await signals.stop_flag(target.key, 7) is None


async def test_a_request_on_a_waiting_run_keeps_its_state(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [plan_call(R1), call("ask_human", question="?")])
    first = await h.run()
    assert first.phase is Phase.ASKED
    saved = dict(h.host.state)

    again = await h.run("bob")  # the label again, `/pilot run`, or a replayed `labeled`

    assert again.phase is Phase.ASKED
    assert h.host.state == saved
