"""The guard before `ready` (bot/run/phases/test_guard.py) driven through the Controller with
in-process fakes and the scripted model: a weak model's rewrite of the failing test file into
bare functions is green on CI but never marked ready; the question names what went, a person's
`continue` marks it ready, a hint has the tests put back; a real fix with a test added goes
ready as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.agent.llm import OpenAICompatibleLLM
from bot.dev.scripted_model import ScriptedModel
from bot.github.api import JobLog
from bot.run.state import Phase
from tests.agent.test_test_weakening import SLUG, TEST_SLUG, TEST_SLUG_BARE
from tests.run.test_run_followup import PR, Harness, check_run, harness
from tests.run_fakes import call, file_at, git, node, plan_call, write_files

CONFIG = "test: python3 -m unittest\n"
R1 = node("R1", "Make slugify lower-case")
SLUG_FIXED = "def slugify(text):\n    return text.lower().replace(' ', '-')\n"
TEST_SLUG_MORE = TEST_SLUG.replace(
    "\n\nif __name__",
    '\n    def test_both(self):\n        self.assertEqual(slugify("A B"), "a-b")\n\n\nif __name__',
)
# More than the agent's finish gate refuses (once per problem): the model insists.
FINISHES = [call("finish", summary="The tests pass now.")] * 4


def with_slug(h: Harness) -> str:
    """The slug project on main, its test of upper case failing; returns main's commit."""
    seed = h.tmp / "seed"
    files = {"slug.py": SLUG, "tests/__init__.py": "", "tests/test_slug.py": TEST_SLUG}
    write_files(seed, files)
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "slugify, with a failing test")
    git(seed, "push", "--quiet", str(h.remote), "main")
    return git(seed, "rev-parse", "HEAD").strip()


def gamed() -> list[dict[str, Any]]:
    """What the weak model did: the test file turned into bare functions, the code untouched."""
    return [
        plan_call(R1),
        call("write_file", path="tests/test_slug.py", content=TEST_SLUG_BARE),
        *FINISHES,
    ]


def green(h: Harness) -> str:
    sha = str(h.host.state["ci_sha"])
    h.host.check_runs_of[sha] = [check_run(1, "Unit tests", "success")]
    return sha


def guard_records(h: Harness) -> list[dict[str, Any]]:
    return [r for r in h.trajectory() if r.get("kind") == "test_guard"]


def outcome_rewards(h: Harness) -> list[dict[str, Any]]:
    return [r for r in h.trajectory() if r.get("kind") == "outcome_reward"]


async def asked_about_the_tests(h: Harness) -> str:
    """Runs the gamed work to its pull request and CI's green verdict; returns the question."""
    first = await h.run()
    assert first.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    counts = h.host.state["test_counts"]
    assert (counts["base"]["ran"], counts["base"]["failed"]) == (2, 1)
    assert counts["head"]["ran"] == 0 and counts["head"]["sha"] == h.head()

    state = await h.handle({"kind": "ci", "sha": green(h)})

    assert state is not None and state.phase is Phase.ASKED, h.host.notes or h.host.state
    assert h.host.ready == [] and h.host.pull_updates == []
    assert not [k for k in h.host.notes if k.startswith("ready")]
    assert h.host.state["parked"]["kind"] == "tests"
    [key] = [k for k in h.host.notes if k.startswith("ask-tests")]
    assert h.host.note_numbers[key] == PR
    return h.host.notes[key]


async def test_a_test_file_rewritten_into_bare_functions_is_not_marked_ready(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, CONFIG, gamed())
    with_slug(h)

    note = await asked_about_the_tests(h)

    assert "@alice" in note and "stays a draft" in note
    assert "test class TestSlug removed from tests/test\\_slug.py" in note
    assert "test\\_case, test\\_spaces in tests/test\\_slug.py left their TestCase" in note
    assert "2 ran, 1 failed before the change; 0 ran after it" in note
    assert "`/pilot continue` marks the pull request ready as it is" in note
    question = h.host.state["question"]
    assert "TestSlug" in question and "test_spaces" in question
    [record] = guard_records(h)
    assert record["waiting"] == 3 and record["sha"] == h.head()
    kinds = {f["kind"] for f in record["findings"]}
    assert kinds == {"test_class_removed", "tests_left_class", "fewer_tests"}
    facts = "\n".join(h.host.reports[-1].facts)
    assert "Tests weakened, for a person to confirm: test class TestSlug removed" in facts
    # CI's green +1 is answered by the guard's -1, once for the head.
    rewards = [(r["what"], r["value"], r["sha"]) for r in outcome_rewards(h)]
    assert rewards == [("ci", 1.0, h.head()), ("tests", -1.0, h.head())]

    # A CI event for the same head again changes nothing: the run waits for a person.
    saves = len(h.host.saved)
    await h.handle({"kind": "ci", "sha": h.head()})
    assert len(h.host.saved) == saves and h.host.ready == []

    state = await h.command("continue", 301)

    assert state is not None and state.phase is Phase.READY, h.host.notes or h.host.state
    assert h.host.ready == [PR]
    [ready] = [body for key, body in h.host.notes.items() if key.startswith("ready")]
    assert "@alice confirmed the changes to the tests" in ready
    guard = h.host.state["test_guard"]
    assert guard["by"] == "alice" and guard["findings"] == [] and len(guard["confirmed"]) == 3
    assert "Changes to the tests confirmed by @alice" in "\n".join(h.host.reports[-1].facts)


async def test_a_hint_has_the_tests_put_back_and_then_it_goes_ready(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    h = harness(tmp_path, model, llm, None, CONFIG, gamed())
    with_slug(h)
    await asked_about_the_tests(h)
    weakened_head = h.head()
    h.model.set_script(
        [
            call("write_file", path="tests/test_slug.py", content=TEST_SLUG),
            call("write_file", path="slug.py", content=SLUG_FIXED),
            *FINISHES,
        ]
    )

    hint = "Keep the TestCase; fix slugify instead."
    state = await h.command("continue", 302, args=hint)

    assert state is not None and state.phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    assert h.nodes_on_branch() == ["R1", "tests-1"]
    assert (
        h.head() != weakened_head and file_at(h.remote, h.head(), "tests/test_slug.py") == TEST_SLUG
    )
    prompts = h.prompts()
    assert f"A person answered: {hint}" in prompts
    assert "What the change does to the tests: test class TestSlug removed" in prompts
    assert "-class TestSlug(unittest.TestCase):" in prompts  # the base's test, to put back
    assert h.host.ready == []

    state = await h.handle({"kind": "ci", "sha": green(h)})

    assert state is not None and state.phase is Phase.READY, h.host.notes or h.host.state
    assert h.host.ready == [PR]
    assert guard_records(h)[-1]["waiting"] == 0


async def test_a_fix_with_a_test_added_goes_ready(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    script = [
        plan_call(R1),
        call("write_file", path="slug.py", content=SLUG_FIXED),
        call("write_file", path="tests/test_slug.py", content=TEST_SLUG_MORE),
        *FINISHES,
    ]
    h = harness(tmp_path, model, llm, None, CONFIG, script)
    with_slug(h)
    assert (await h.run()).phase is Phase.AWAIT_CI, h.host.notes or h.host.state
    counts = h.host.state["test_counts"]
    assert (counts["base"]["ran"], counts["head"]["ran"], counts["head"]["failed"]) == (2, 3, 0)

    state = await h.handle({"kind": "ci", "sha": green(h)})

    assert state is not None and state.phase is Phase.READY, h.host.notes or h.host.state
    assert h.host.ready == [PR]
    assert not [k for k in h.host.notes if k.startswith("ask-")]
    [record] = guard_records(h)
    assert record["findings"] == [] and record["waiting"] == 0
    assert record["before"]["ran"] == 2 and record["after"]["ran"] == 3


async def test_fewer_tests_in_a_ci_jobs_log_than_where_the_branch_left_the_base(
    tmp_path: Path, model: ScriptedModel, llm: OpenAICompatibleLLM
) -> None:
    ran = "Ran {} tests in 0.01s\n\n{}\n"
    for name, head_tests in (("fewer", 1), ("same", 4)):
        h = harness(tmp_path / name, model, llm, None, None, [])
        base = git(h.remote, "rev-parse", "main").strip()
        sha = h.at_await_ci()
        h.host.check_runs_of[sha] = [check_run(1, "Unit tests", "success")]
        base_log = ran.format(4, "FAILED (errors=1)")
        h.host.job_logs_of[base] = [JobLog(7, "Unit tests", "failure", base_log)]
        h.host.job_logs_of[sha] = [JobLog(8, "Unit tests", "success", ran.format(head_tests, "OK"))]

        state = await h.handle({"kind": "ci", "sha": sha})

        assert state is not None, name
        if name == "same":
            assert state.phase is Phase.READY and h.host.ready == [PR], h.host.notes
            continue
        assert state.phase is Phase.ASKED and h.host.ready == [], h.host.notes or h.host.state
        [key] = [k for k in h.host.notes if k.startswith("ask-tests")]
        detail = "fewer tests ran in CI job Unit tests: 4 before the change, 1 after it"
        assert detail in h.host.notes[key]
