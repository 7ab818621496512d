"""`.github/pilot.yml`: defaults, valid files, and problems named by line and field."""

from __future__ import annotations

import pytest

from bot.run.repo_config import ConfigProblem, RepoConfig, RepoConfigError, parse_repo_config


def problems_of(text: str) -> list[ConfigProblem]:
    with pytest.raises(RepoConfigError) as raised:
        parse_repo_config(text)
    return raised.value.problems


@pytest.mark.parametrize("text", [None, "", "  \n", "# only a comment\n", "---\n"])
def test_no_file_or_an_empty_one_gives_the_defaults(text: str | None) -> None:
    config = parse_repo_config(text)
    assert config == RepoConfig()
    assert config.setup == [] and config.test is None and config.image is None
    assert not config.network_during_setup and not config.plan_approval
    assert (config.max_steps, config.max_ci_attempts) == (30, 3)
    assert (config.max_tokens, config.max_minutes) == (400_000, 30)
    assert config.allowed_users == [] and config.allows("anyone")


def test_a_full_valid_file() -> None:
    config = parse_repo_config(
        """\
setup:
  - pip install -e .
  - make deps
test: pytest -q
image: python:3.11-slim
network_during_setup: true
plan_approval: yes
max_steps: 50
max_ci_attempts: 0
max_tokens: 1_000_000
max_minutes: 90
allowed_users: [alice, Bob-2]
"""
    )
    assert config.setup == ["pip install -e .", "make deps"]
    assert config.test == "pytest -q" and config.image == "python:3.11-slim"
    assert config.network_during_setup and config.plan_approval
    assert (config.max_steps, config.max_ci_attempts) == (50, 0)
    assert (config.max_tokens, config.max_minutes) == (1_000_000, 90)
    assert config.allows("bob-2") and not config.allows("mallory")


def test_an_empty_setup_is_told_apart_from_none() -> None:
    # `setup: []` turns set-up detection off; no `setup` at all leaves it on.
    assert parse_repo_config("setup: []\n").setup_given
    assert parse_repo_config("setup: []\n").setup == []
    assert parse_repo_config("setup: [make]\n").setup_given
    assert not parse_repo_config("network_during_setup: true\n").setup_given
    assert not parse_repo_config(None).setup_given and not RepoConfig().setup_given
    assert problems_of("setup:\n")[0].field == "setup"  # an empty value is no list


def test_unknown_key_names_its_line() -> None:
    [problem] = problems_of("max_steps: 10\n\nmax_step: 20\n")
    assert (problem.line, problem.field) == (3, "max_step")
    assert "unknown setting" in problem.message
    assert str(problem).startswith("line 3, `max_step`: unknown setting")


def test_wrong_type_names_the_line_of_its_key() -> None:
    text = "# budgets\nmax_steps: 10\nmax_minutes: half an hour\nplan_approval: true\n"
    [problem] = problems_of(text)
    assert (problem.line, problem.field) == (3, "max_minutes")
    assert "integer" in problem.message and "string" in problem.message


def test_a_list_where_a_string_is_expected() -> None:
    [problem] = problems_of("setup: [make]\ntest:\n  - pytest\n  - ruff check\n")
    assert (problem.line, problem.field) == (2, "test")
    assert "valid string, not a list" in problem.message


def test_a_bad_item_in_a_list_names_the_item_line() -> None:
    [problem] = problems_of("setup:\n  - make\n  - 42\n")
    assert (problem.line, problem.field) == (3, "setup[1]")


def test_out_of_bounds_values() -> None:
    problems = problems_of("max_steps: 500\nmax_tokens: 0\nmax_minutes: -1\nmax_ci_attempts: 99\n")
    assert [(p.line, p.field) for p in problems] == [
        (1, "max_steps"),
        (2, "max_tokens"),
        (3, "max_minutes"),
        (4, "max_ci_attempts"),
    ]


def test_strings_are_not_taken_for_numbers_or_booleans() -> None:
    problems = problems_of('max_steps: "30"\nnetwork_during_setup: "true"\n')
    assert [p.field for p in problems] == ["max_steps", "network_during_setup"]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(RepoConfigError) as raised:
        parse_repo_config("colour: blue\nmax_steps: many\nimage: two words\n")
    error = raised.value
    assert [(p.line, p.field) for p in error.problems] == [
        (1, "colour"),
        (2, "max_steps"),
        (3, "image"),
    ]
    text = str(error)
    assert text.startswith(".github/pilot.yml is not valid:")
    assert "- line 2, `max_steps`:" in text


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("max_steps: 10\nsetup: [make\n", 3),
        ("max_steps: 10\n  test: x\n", 2),
        ("setup:\n\t- make\n", 2),
    ],
)
def test_bad_yaml_names_its_line(text: str, line: int) -> None:
    [problem] = problems_of(text)
    assert problem.line == line and problem.field is None
    assert problem.message.startswith("YAML syntax error")


def test_no_arbitrary_tags() -> None:
    [problem] = problems_of("max_steps: 3\ntest: !!python/object/apply:os.system [id]\n")
    assert problem.line == 2 and "tag" in problem.message


def test_the_file_must_be_a_mapping() -> None:
    [problem] = problems_of("- setup\n- test\n")
    assert problem.line == 1 and "mapping" in problem.message


def test_a_key_given_twice_is_a_problem() -> None:
    [problem] = problems_of("max_steps: 3\ntest: make\nmax_steps: 4\n")
    assert (problem.line, problem.field) == (3, "max_steps")


def test_logins_must_look_like_logins() -> None:
    [problem] = problems_of("allowed_users:\n  - alice\n  - '@bob'\n")
    assert (problem.line, problem.field) == (3, "allowed_users[1]")
    assert "GitHub login" in problem.message


def test_config_is_immutable() -> None:
    config = parse_repo_config("max_steps: 5\n")
    with pytest.raises(Exception, match="frozen"):
        config.max_steps = 6


@pytest.mark.parametrize("mode", ["auto", "always", "never"])
def test_hold_takes_its_three_modes(mode: str) -> None:
    assert parse_repo_config(f"hold: {mode}\n").hold == mode


def test_hold_defaults_to_auto() -> None:
    assert RepoConfig().hold == "auto"


@pytest.mark.parametrize("value", ["sometimes", "no", "true", "1", "[auto]"])
def test_hold_refuses_anything_else_on_its_line(value: str) -> None:
    [problem] = problems_of(f"max_steps: 10\nhold: {value}\n")
    assert (problem.line, problem.field) == (2, "hold")
    assert "'auto', 'always' or 'never'" in problem.message


def test_workflows_are_read_only_unless_allowed() -> None:
    assert RepoConfig().workflows == "read-only"
    assert parse_repo_config("workflows: allowed\n").workflows == "allowed"
    [problem] = problems_of("workflows: yes\n")
    assert (problem.line, problem.field) == (1, "workflows")
    assert "'read-only' or 'allowed'" in problem.message


def test_docs_are_kept_true_unless_never() -> None:
    assert RepoConfig().docs == "auto"
    assert parse_repo_config("docs: never\n").docs == "never"
    [problem] = problems_of("max_steps: 10\ndocs: false\n")
    assert (problem.line, problem.field) == (2, "docs")
    assert "'auto' or 'never'" in problem.message
