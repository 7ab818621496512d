"""Lost and shuffled webhooks, end to end on ghsim: with 30 % of deliveries dropped and the
rest delivered out of order, ten runs labelled at once all reach a green, ready pull request
through the worker's redeliveries and reconciler alone, with no PR or comment doubled.

The scenario is the lightest one that still waits on GitHub: a one-node plan, one file
written, a draft PR, a CI that passes, the PR marked ready. Every run shares one repository,
so ghsim's reorder window shuffles deliveries of different runs among themselves."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.api_cost import ConversationModel
from bench.chaos import WORKFLOW
from bench.pipeline import SMALL_REPO
from bot.github.status_comment import parse_state
from tests.ghsim_support import push_files, unique
from tests.stack_support import Stack

RUNS = 10
RECONCILE_INTERVAL_S = 2
FAULTS = {"drop": 0.3, "reorder_window": 5, "reorder_hold_ms": 500, "seed": 13}


@pytest.fixture
def conversation_model() -> Iterator[ConversationModel]:
    # Ten runs ask at once: each request is answered from its own conversation, where one
    # shared script would hand one run's step to another.
    model = ConversationModel().start()
    try:
        yield model
    finally:
        model.stop()


@pytest.fixture
def stack_env(conversation_model: ConversationModel) -> dict[str, str]:
    return {
        "PILOT_LLM_BASE_URL": conversation_model.base_url,
        "PILOT_RECONCILE_INTERVAL_S": str(RECONCILE_INTERVAL_S),
    }


def set_delivery_faults(stack: Stack, faults: dict[str, Any] | None) -> None:
    url = f"{stack.sim.api_url}_ghsim/faults/deliveries"
    answer = httpx.put(url, json=faults) if faults else httpx.delete(url)
    answer.raise_for_status()


class Outcome:
    """What GitHub shows of one issue's run."""

    def __init__(self, issue: int, comments: list[Any], pulls: list[Any]) -> None:
        self.issue = issue
        self.bot_comments = [c.body or "" for c in comments if c.user.login.endswith("[bot]")]
        states = [parse_state(body) for body in self.bot_comments]
        self.states = [s for s in states if s is not None]
        self.pulls = [p for p in pulls if p.head.ref.startswith(f"pilot/issue-{issue}-")]

    @property
    def phase(self) -> str | None:
        return str(self.states[0].get("phase")) if self.states else None


def outcomes(stack: Stack, repo: str, issues: list[int]) -> dict[int, Outcome]:
    alice = stack.sim.person("alice")
    pulls = list(alice.rest.pulls.list("alice", repo, state="all", per_page=100).parsed_data)
    return {
        n: Outcome(n, list(alice.rest.issues.list_comments("alice", repo, n).parsed_data), pulls)
        for n in issues
    }


def test_ten_runs_end_ready_with_lost_and_shuffled_deliveries(stack: Stack, tmp_path: Path) -> None:
    alice = stack.sim.person("alice")
    repo = unique("greeter")
    alice.rest.repos.create_for_authenticated_user(name=repo, auto_init=True)
    files = {**SMALL_REPO, ".github/workflows/ci.yml": WORKFLOW}
    push_files(stack.sim, f"alice/{repo}", "ghp_sim_alice", "main", files, tmp_path)
    issues = [
        alice.rest.issues.create(
            "alice", repo, title=f"Greet people ({i})", body="We need greet(name)."
        ).parsed_data.number
        for i in range(RUNS)
    ]
    set_delivery_faults(stack, FAULTS)
    began = time.monotonic()
    for number in issues:
        alice.rest.issues.add_labels("alice", repo, number, labels=["pilot"])

    # Polled every 2 s: alice's reads count against ghsim's secondary limit (900 points/min).
    deadline = time.monotonic() + 170
    while True:
        phases = {n: o.phase for n, o in outcomes(stack, repo, issues).items()}
        if all(phase == "ready" for phase in phases.values()):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"runs not ready: {phases} (logs: {stack.tmp})")
        time.sleep(2)
    elapsed = time.monotonic() - began
    set_delivery_faults(stack, None)

    deliveries = stack.sim.app().rest.apps.list_webhook_deliveries(per_page=100).parsed_data
    failed = sum(1 for d in deliveries if d.status_code != 200 and not d.redelivery)
    redelivered = sum(1 for d in deliveries if d.redelivery)
    print(
        f"\n{RUNS} runs ready in {elapsed:.1f} s; of the last {len(deliveries)} deliveries "
        f"{failed} were dropped and {redelivered} were redeliveries"
    )
    assert failed, "the fault mode dropped nothing: the test proves nothing"
    # A late redelivery or a reconciler pass after the end must not add anything.
    time.sleep(2 * RECONCILE_INTERVAL_S + 1)
    for number, outcome in outcomes(stack, repo, issues).items():
        assert outcome.phase == "ready", (number, outcome.phase)
        assert len(outcome.states) == 1, (number, outcome.bot_comments)
        assert len(outcome.bot_comments) == 1, (number, outcome.bot_comments)
        [pull] = outcome.pulls
        assert pull.state == "open" and pull.draft is False, number
        listed: list[Any] = list(
            alice.rest.issues.list_comments("alice", repo, pull.number).parsed_data
        )
        on_pull = [c.body or "" for c in listed if c.user.login.endswith("[bot]")]
        assert [b for b in on_pull if "ready for review" in b], (number, on_pull)
        doubled = [body for body, count in Counter(on_pull).items() if count > 1]
        assert not doubled, (number, doubled)
        branches = alice.rest.repos.list_branches("alice", repo, per_page=100).parsed_data
        assert len([b for b in branches if b.name.startswith(f"pilot/issue-{number}-")]) == 1
