"""CI triage through `Controller.handle` (bot/run/phases/ci.py, ci_rerun.py): a check already
red on the base branch is pre-existing, one that fails once and passes on the re-run is flaky;
neither spends a CI attempt. In-process fakes (MemoryRunHost) and the scripted model."""

from __future__ import annotations

from pathlib import Path

from bot.agent.llm import OpenAICompatibleLLM
from bot.core.ci_index import settled_shas
from bot.dev.scripted_model import ScriptedModel
from bot.github.api import CheckSuiteInfo, StatusInfo, WorkflowRunInfo
from bot.run.state import Phase
from tests.run.test_run_followup import BRANCH, GREET_V3, PR, check_run, fix, harness
from tests.run_fakes import branches, file_at


def triage_records(records: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in records if r.get("kind") == "ci_triage"]


async def test_a_check_already_red_on_the_base_branch_is_pre_existing_and_spends_nothing(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [])
    sha = h.at_await_ci()
    base = branches(h.remote)["main"]
    h.red(sha, "Unit tests", text="boom")
    h.host.workflow_runs_of[sha] = [WorkflowRunInfo(11, "CI", "completed", "failure")]
    h.host.check_runs_of[base] = [check_run(5, "Unit tests", "failure")]

    state = await h.handle({"kind": "ci", "sha": sha})

    assert state is not None and state.phase is Phase.READY, h.host.notes or h.host.state
    assert h.host.reruns == []  # nothing to learn from a re-run
    assert h.requests() == [] and h.sandboxes.sessions == 0
    assert h.host.state["ci_attempt"] == 1 and h.host.ready == [PR]
    note = h.host.notes[f"triage-{sha}"]
    assert h.host.note_numbers[f"triage-{sha}"] == PR
    assert "`Unit tests`" in note and "base branch" in note and base[:7] in note
    assert "No CI attempt was spent" in note
    ready = next(v for k, v in h.host.notes.items() if k.startswith("ready"))
    assert "failing on the base branch too" in ready
    assert triage_records(h.trajectory()) == [
        {
            "ts": triage_records(h.trajectory())[0]["ts"],
            "kind": "ci_triage",
            "sha": sha,
            "check": "Unit tests",
            "verdict": "pre_existing",
            "base_sha": base,
        }
    ]
    assert h.host.state["ci_history"] == [{"sha": sha, "failing": 0, "names": []}]


async def test_a_check_that_fails_once_and_then_passes_is_flaky_and_spends_nothing(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, [])
    sha = h.at_await_ci()
    h.red(sha, "Unit tests")
    h.host.workflow_runs_of[sha] = [WorkflowRunInfo(11, "CI", "completed", "failure", 1)]

    first = await h.handle({"kind": "ci", "sha": sha})

    assert first is not None and first.phase is Phase.AWAIT_CI
    assert h.host.reruns == [11]
    saved = h.host.state
    assert saved["ci_triage"]["reruns"] == {"11": 1}
    # Not judged yet: the CI index must not settle the sha, or the re-run's news is dropped.
    handled = saved.get("handled", [])
    assert f"ci:{sha}" not in handled and sha not in settled_shas(handled)
    assert h.requests() == [] and h.host.ready == []

    # A read from before GitHub queued the new attempt shows the first verdict again.
    stale = await h.handle({"kind": "ci", "sha": sha})
    assert stale is not None and stale.phase is Phase.AWAIT_CI
    assert h.host.reruns == [11] and h.requests() == []

    h.host.workflow_runs_of[sha] = [WorkflowRunInfo(11, "CI", "completed", "success", 2)]
    h.host.check_runs_of[sha] = [check_run(2, "Unit tests", "success")]
    state = await h.handle({"kind": "ci", "sha": sha})

    assert state is not None and state.phase is Phase.READY, h.host.notes or h.host.state
    assert h.host.reruns == [11]  # once per sha
    assert h.requests() == [] and h.host.state["ci_attempt"] == 1
    note = h.host.notes[f"triage-{sha}"]
    assert "flaky" in note and "`Unit tests`" in note and "No CI attempt was spent" in note
    assert [(r["check"], r["verdict"]) for r in triage_records(h.trajectory())] == [
        ("Unit tests", "flaky")
    ]
    assert f"ci:{sha}" in h.host.state["handled"]


async def test_a_check_that_fails_again_on_the_re_run_is_ours_and_fixed(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, fix(GREET_V3))
    sha = h.at_await_ci()
    h.red(sha, "Unit tests")
    h.host.workflow_runs_of[sha] = [WorkflowRunInfo(11, "CI", "completed", "failure", 1)]
    await h.handle({"kind": "ci", "sha": sha})
    assert h.host.reruns == [11] and h.requests() == []

    h.host.workflow_runs_of[sha] = [WorkflowRunInfo(11, "CI", "completed", "failure", 2)]
    h.host.check_runs_of[sha] = [check_run(2, "Unit tests", "failure", "still boom")]
    state = await h.handle({"kind": "ci", "sha": sha})

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.nodes_on_branch() == ["R1", "ci-1"]
    assert file_at(h.remote, BRANCH, "greet.py") == GREET_V3
    assert h.host.state["ci_attempt"] == 2 and h.host.state["ci_sha"] != sha
    assert "still boom" in h.prompts()
    assert f"triage-{sha}" not in h.host.notes  # nothing to report: all of it was ours
    assert [(r["check"], r["verdict"]) for r in triage_records(h.trajectory())] == [
        ("Unit tests", "ours")
    ]


async def test_only_the_failures_of_the_pull_request_go_to_the_fix(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, None, fix(GREET_V3))
    sha = h.at_await_ci()
    base = branches(h.remote)["main"]
    h.host.check_runs_of[sha] = [
        check_run(1, "Unit tests", "failure", "greet is wrong"),
        check_run(2, "Docs", "failure", "a broken link elsewhere"),
    ]
    h.host.check_runs_of[base] = [check_run(3, "Docs", "failure")]
    # A re-run is asked for, and GitHub refuses it (an App without actions: write).
    h.host.workflow_runs_of[sha] = [WorkflowRunInfo(11, "CI", "completed", "failure")]
    h.host.rerun_refused = {11}
    h.host.statuses_of[sha] = [StatusInfo("lint", "success", "ok", "", "linter[bot]")]

    state = await h.handle({"kind": "ci", "sha": sha})

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.host.reruns == [11]
    assert h.host.state["ci_attempt"] == 2
    prompts = h.prompts()
    assert "greet is wrong" in prompts and "a broken link elsewhere" not in prompts
    note = h.host.notes[f"triage-{sha}"]
    assert "`Docs`" in note and "`Unit tests`" in note and "being fixed" in note
    assert h.host.state["ci_history"] == [{"sha": sha, "failing": 1, "names": ["Unit tests"]}]
    verdicts = {r["check"]: r["verdict"] for r in triage_records(h.trajectory())}
    assert verdicts == {"Unit tests": "ours", "Docs": "pre_existing"}


async def test_a_refused_workflow_beside_a_pre_existing_red_check_still_tests_in_the_sandbox(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    # `Unit tests` is red on the base branch too; lint.yml never started a job. Nothing failed
    # of the change's making, but nothing tested it either: the sandbox's `test` decides.
    h = harness(tmp_path, model, llm, None, 'test: "true"\n', [])
    sha = h.at_await_ci()
    base = branches(h.remote)["main"]
    h.red(sha, "Unit tests", text="boom")
    lint = ".github/workflows/lint.yml"
    h.host.workflow_runs_of[sha] = [
        WorkflowRunInfo(11, "CI", "completed", "failure", 1, 100),
        WorkflowRunInfo(12, lint, "completed", "failure", 1, 200),
    ]
    h.host.suites_of[sha] = [
        CheckSuiteInfo(100, "github-actions", "completed", "failure", 1),
        CheckSuiteInfo(200, "github-actions", "completed", "failure", 0),
    ]
    h.host.check_runs_of[base] = [check_run(5, "Unit tests", "failure")]

    state = await h.handle({"kind": "ci", "sha": sha})

    assert state is not None and state.phase is Phase.READY, h.host.notes or h.host.state
    assert h.sandboxes.phases == ["check"] and h.requests() == []
    ready = next(v for k, v in h.host.notes.items() if k.startswith("ready"))
    assert "failing on the base branch too" in ready
    assert f"`{lint}` failed before any job ran" in ready
    assert "the sandbox ran `true` instead and it passed" in ready
