"""Plans sized to the issue (bot/agent/plan_size.py): tests-only requirements folded into the
change they test.

Decided here: a title about how tests run ("Testing framework migration", "Update test
configuration", "Test harness for the CLI") is real work with files of its own, not a tests-only
step; nor is a title that also names the change ("Add tests and fix the bug")."""

from __future__ import annotations

import pytest

from bot.agent.plan_size import bookkeeping, drop_bookkeeping, fold_test_nodes, size_plan
from bot.agent.plan_size import tests_only as is_tests_only  # not a name pytest collects
from bot.agent.planner import judge
from bot.agent.requirements import MAX_CRITERIA, MAX_DESCRIPTION, Requirement, RequirementTree
from tests.agent.test_planner import submit


def node(
    node_id: str, title: str, depends_on: tuple[str, ...] = (), acceptance: tuple[str, ...] = ()
) -> Requirement:
    return Requirement(
        node_id,
        title,
        f"About {title.lower()}.",
        list(acceptance or (f"{node_id} done",)),
        list(depends_on),
    )


@pytest.mark.parametrize(
    "title",
    [
        "Add tests",
        "Update the tests",
        "Update the unit tests for slugify",
        "Write a regression test",
        "Add new unit tests",
        "Test slugify edge cases",
        "Tests for the parser",
        "Testing the date parser",
        "Add tests for config loading",
        "Fix tests",
    ],
)
def test_titles_about_tests_alone(title: str) -> None:
    assert is_tests_only(node("R1", title))


@pytest.mark.parametrize(
    "title",
    [
        "Testing framework migration",
        "Update test configuration",
        "Test harness for the CLI",
        "Test setup for Django",
        "Add tests and fix the bug",
        "Fix the failing tests",  # the code is what fails them
        "Add slugify()",
        "Testable clock in the scheduler",
        "Attest the signature",
    ],
)
def test_titles_about_real_work(title: str) -> None:
    assert not is_tests_only(node("R1", title))


def test_a_tests_node_is_merged_into_the_change_it_depends_on() -> None:
    tree = RequirementTree(
        [
            node("R1", "Add slugify()", acceptance=("slugify('A b') == 'a-b'",)),
            node("R2", "Add a CLI flag"),
            node("R3", "Update the tests", ("R1",), ("tests cover slugify", "R1 done")),
            node("R4", "Document slugify", ("R3", "R2")),
        ]
    )
    folded = fold_test_nodes(tree)
    assert [n.id for n in folded.nodes] == ["R1", "R2", "R4"]
    host = folded.get("R1")
    assert (
        host.description
        == "About add slugify().\n\nAlso: Update the tests. About update the tests."
    )
    assert host.acceptance == ["slugify('A b') == 'a-b'", "tests cover slugify", "R1 done"]
    assert folded.get("R4").depends_on == ["R1", "R2"]
    assert tree.get("R1").acceptance == ["slugify('A b') == 'a-b'"]  # the input is left alone


def test_a_tests_node_without_dependencies_goes_into_the_change_before_it() -> None:
    tree = RequirementTree([node("R1", "Add slugify()"), node("R2", "Add tests")])
    folded = fold_test_nodes(tree)
    assert [n.id for n in folded.nodes] == ["R1"]
    assert folded.get("R1").acceptance == ["R1 done", "R2 done"]


def test_chained_tests_nodes_end_in_the_same_change() -> None:
    tree = RequirementTree(
        [
            node("R1", "Add slugify()"),
            node("R2", "Add unit tests", ("R1",)),
            node("R3", "Write a regression test", ("R2",)),
            node("R4", "Use slugify in the CLI", ("R3",)),
        ]
    )
    folded = fold_test_nodes(tree)
    assert [(n.id, n.depends_on) for n in folded.nodes] == [("R1", []), ("R4", ["R1"])]
    assert folded.get("R1").acceptance == ["R1 done", "R2 done", "R3 done"]


def test_a_plan_of_tests_alone_is_kept_as_it_is() -> None:
    tree = RequirementTree([node("R1", "Add tests"), node("R2", "Update the tests", ("R1",))])
    assert fold_test_nodes(tree) is tree


def test_a_tests_node_before_any_change_is_kept() -> None:
    tree = RequirementTree([node("R1", "Write a regression test"), node("R2", "Fix it", ("R1",))])
    folded = fold_test_nodes(tree)
    assert [(n.id, n.depends_on) for n in folded.nodes] == [("R1", []), ("R2", ["R1"])]


def test_folding_that_would_make_a_cycle_folds_nothing() -> None:
    # R2 has no dependency, so it would go into R1, which waits for R3, which waits for R2.
    tree = RequirementTree(
        [
            node("R1", "Add the CLI", ("R3",)),
            node("R2", "Add tests"),
            node("R3", "Add the parser", ("R2",)),
        ]
    )
    folded = fold_test_nodes(tree)
    assert [(n.id, n.depends_on) for n in folded.nodes] == [
        ("R1", ["R3"]),
        ("R2", []),
        ("R3", ["R2"]),
    ]
    folded.order()


def test_a_folded_tree_stays_within_the_plan_limits() -> None:
    host = node("R1", "Add slugify()", acceptance=tuple(f"c{i}" for i in range(8)))
    host.description = "d" * (MAX_DESCRIPTION - 100)
    tests = node("R2", "Add tests", ("R1",), tuple(f"t{i}" for i in range(5)))
    tests.description = "t" * 500
    folded = fold_test_nodes(RequirementTree([host, tests]))
    merged = folded.get("R1")
    assert len(merged.acceptance) == MAX_CRITERIA and merged.acceptance[-2:] == ["t0", "t1"]
    assert len(merged.description) == MAX_DESCRIPTION
    # The status comment's state block loads again on a resumed run.
    assert RequirementTree.from_state(folded.to_state()).get("R1").acceptance == merged.acceptance


def test_the_planner_folds_the_plans_it_accepts() -> None:
    requirements = [
        {"id": "R1", "title": "Add slugify()", "description": "d", "acceptance": ["works"]},
        {
            "id": "R2",
            "title": "Add tests for slugify",
            "description": "t",
            "acceptance": ["tested"],
            "depends_on": ["R1"],
        },
    ]
    tree, reasons = judge(submit(*requirements))
    assert reasons == [] and tree is not None
    assert [(n.id, n.acceptance) for n in tree.nodes] == [("R1", ["works", "tested"])]


@pytest.mark.parametrize(
    "title",
    [
        "Commit the changes and push them to the repository",
        "Push the branch",
        "Open a pull request",
        "Create the PR",
        "Run the tests to ensure that the changes work as expected",
        "Run all unit tests",
        "Verify the fix",
        "Ensure that tests pass",
    ],
)
def test_bookkeeping_titles(title: str) -> None:
    assert bookkeeping(node("R9", title))


@pytest.mark.parametrize(
    "title",
    ["Committee page shows members", "Push notifications for mentions", "Open files lazily",
     "Verify signatures of webhook payloads", "Check the config path before loading"],
)  # fmt: skip
def test_work_that_only_sounds_like_bookkeeping_is_kept(title: str) -> None:
    assert not bookkeeping(node("R1", title))


def test_the_plan_a_small_model_made_for_a_one_line_fix_becomes_one_requirement() -> None:
    """Qwen2.5-Coder-1.5B's plan for the demo issue: the change, its tests, a test run, a commit."""
    tree = RequirementTree(
        [
            node("R1", "Change the `slugify` function to lower-case", acceptance=("a",)),
            node("R2", "Update the test in `tests/test_slug.py`", ("R1",), ("b",)),
            node("R3", "Run the tests to ensure that the changes work", ("R2",), ("c",)),
            node("R4", "Commit the changes and push them to the repository", ("R3",), ("d",)),
        ]
    )
    sized = size_plan(tree)
    assert [n.id for n in sized.nodes] == ["R1"]
    assert sized.nodes[0].acceptance == ["a", "b"]
    assert [n.id for n in tree.nodes] == ["R1", "R2", "R3", "R4"]  # the input is left alone


def test_dependents_of_a_dropped_node_inherit_its_dependencies() -> None:
    tree = RequirementTree(
        [
            node("R1", "Parse the flag"),
            node("R2", "Run the tests"),
            node("R3", "Print the version", ("R2",)),
            node("R4", "Commit the work", ("R1", "R3")),
        ]
    )
    dropped = drop_bookkeeping(tree)
    assert [(n.id, n.depends_on) for n in dropped.nodes] == [("R1", []), ("R3", [])]


def test_a_plan_of_bookkeeping_alone_is_left_as_it_is() -> None:
    tree = RequirementTree([node("R1", "Run the tests"), node("R2", "Commit the changes")])
    assert drop_bookkeeping(tree) is tree
