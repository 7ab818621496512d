"""CI as VERIFY, people and reviews, end to end on ghsim: its Actions-subset CI runs the
repository's workflow in real containers; the bot reads the results, fixes, asks, resumes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bot.github.status_comment import parse_state
from bot.run.state import run_dir_name
from tests.ghsim_support import push_files, unique, wait_until
from tests.stack_support import Stack, docker_client, leftovers

WORKFLOW = """\
name: CI
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    name: Unit tests
    steps:
      - uses: actions/checkout@v4
      - run: python3 -m unittest discover -v
"""
CALC_BUG = "def add(a, b):\n    return a - b\n"
CALC_STILL_WRONG = "def add(a, b):\n    return a * b\n"
CALC_FIXED = "def add(a, b):\n    return a + b\n"
CALC_DOCUMENTED = '"""Adding numbers."""\n\n\ndef add(a, b):\n    return a + b\n'
TEST_CALC = (
    "import unittest\n\nfrom calc import add\n\n\n"
    "class AddTest(unittest.TestCase):\n"
    "    def test_add(self):\n"
    "        self.assertEqual(add(2, 3), 5)\n"
)


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


PLAN = call(
    "submit_plan",
    requirements=[
        {
            "id": "R1",
            "title": "Fix add()",
            "description": "add() must add.",
            "acceptance": ["add(2, 3) == 5"],
            "depends_on": [],
        }
    ],
)


def write(content: str, summary: str = "done") -> list[dict[str, Any]]:
    return [call("write_file", path="calc.py", content=content), call("finish", summary=summary)]


class Repo:
    def __init__(self, stack: Stack, tmp: Path, config: str = "") -> None:
        self.stack = stack
        self.alice = stack.sim.person("alice")
        self.name = unique("calc")
        self.alice.rest.repos.create_for_authenticated_user(name=self.name, auto_init=True)
        files = {
            "calc.py": CALC_BUG,
            "test_calc.py": TEST_CALC,
            ".github/workflows/ci.yml": WORKFLOW,
        }
        if config:
            files[".github/pilot.yml"] = config
        push_files(stack.sim, f"alice/{self.name}", "ghp_sim_alice", "main", files, tmp)
        issue = self.alice.rest.issues.create(
            "alice", self.name, title="add() subtracts", body="add(2, 3) gives -1."
        ).parsed_data
        self.number = issue.number

    def label(self) -> None:
        self.alice.rest.issues.add_labels("alice", self.name, self.number, labels=["pilot"])

    def state(self) -> dict[str, Any]:
        for c in self.alice.rest.issues.list_comments("alice", self.name, self.number).parsed_data:
            if c.user.login.endswith("[bot]") and "pilot:state" in (c.body or ""):
                return parse_state(c.body or "") or {}
        return {}

    def wait_phase(self, *phases: str, timeout: float = 120) -> dict[str, Any]:
        return dict(
            wait_until(
                lambda: self.state() if self.state().get("phase") in phases else None,
                timeout,
                f"the run to reach {phases} (log: {self.stack.tmp})",
                interval_s=0.5,  # two reads a poll, under GitHub's secondary limits
            )
        )

    def pull(self) -> Any:
        [pr] = self.alice.rest.pulls.list("alice", self.name, state="all").parsed_data
        return pr

    def comments(self, number: int) -> list[Any]:
        return list(self.alice.rest.issues.list_comments("alice", self.name, number).parsed_data)

    def bot_comments(self, number: int) -> list[str]:
        return [c.body or "" for c in self.comments(number) if c.user.login.endswith("[bot]")]

    def file(self, path: str, ref: str) -> str:
        data = self.alice.rest.repos.get_content("alice", self.name, path, ref=ref).parsed_data
        return base64.b64decode(data.content).decode()

    def check_runs(self, sha: str) -> list[Any]:
        data = self.alice.rest.checks.list_for_ref("alice", self.name, sha).parsed_data
        return list(data.check_runs)

    def comment(self, number: int, body: str, who: str = "alice") -> None:
        person = self.stack.sim.person(who)
        person.rest.issues.create_comment("alice", self.name, number, body=body)


def test_a_ci_fails_then_the_fix_makes_it_green_and_ready(stack: Stack, tmp_path: Path) -> None:
    stack.model.set_script([PLAN, *write(CALC_STILL_WRONG), *write(CALC_FIXED, "fixed")])
    repo = Repo(stack, tmp_path)
    repo.label()
    state = repo.wait_phase("ready", timeout=180)
    pr = repo.pull()
    assert pr.draft is False
    assert repo.file("calc.py", pr.head.ref) == CALC_FIXED
    assert state["ci_attempt"] == 2
    [first, second] = state["ci_history"]
    assert first["failing"] == 1 and second["failing"] == 0
    red_runs = repo.check_runs(first["sha"])
    assert [r.conclusion for r in red_runs] == ["failure"]
    # From the red result to the fix's push (the fix's own CI starts with its push).
    fix_runs = repo.check_runs(second["sha"])
    red_at = max(r.completed_at for r in red_runs)
    pushed_at = min(r.started_at or r.completed_at for r in fix_runs)
    seconds = (pushed_at - red_at).total_seconds()
    # The same from the bot's own records, to the millisecond: red verdict read → fix pushed.
    trajectory = stack.runs_dir / run_dir_name(f"alice/{repo.name}", repo.number)
    records = [json.loads(line) for line in (trajectory / "trajectory.jsonl").open()]
    # Red twice: the first verdict, then its failed jobs re-run once (not flaky, so ours).
    *_, red = [r for r in records if r.get("kind") == "ci" and r.get("state") == "red"]
    assert [r["verdict"] for r in records if r.get("kind") == "ci_triage"] == ["ours"]
    [push] = [r for r in records if r.get("phase") == "push" and r.get("node") == "ci-1"]
    judged_to_pushed = push["at"] - red["ts"]
    print(
        f"\nscenario (a): red CI result to the next push: {seconds:.2f} s by ghsim's clock "
        f"(1 s resolution); red verdict read to fix pushed: {judged_to_pushed:.3f} s"
    )
    assert seconds < 60 and 0 < judged_to_pushed < 60
    ready = [b for b in repo.bot_comments(pr.number) if "ready for review" in b]
    assert len(ready) == 1 and "@alice" in ready[0]
    assert "CI attempt 2 of 3" in repo.bot_comments(repo.number)[0]


def test_b_budget_spent_then_a_person_answers_and_it_goes_green(
    stack: Stack, tmp_path: Path
) -> None:
    stack.model.set_script(
        [PLAN, *write(CALC_STILL_WRONG), *write("def add(a, b):\n    return b - a\n"),
         *write(CALC_FIXED, "as suggested")]
    )  # fmt: skip
    repo = Repo(stack, tmp_path, "max_ci_attempts: 2\n")
    repo.label()
    state = repo.wait_phase("asked", timeout=180)
    assert state["parked"]["kind"] == "ci"
    pr = repo.pull()
    [question] = [b for b in repo.bot_comments(pr.number) if "needs a person" in b]
    assert "@alice" in question and "2 of 2" in question
    # No container is kept while parked.
    client = docker_client()
    run_label = run_dir_name(f"alice/{repo.name}", repo.number)
    wait_until(lambda: not leftovers(client, run_label), 20, "the parked run's sandbox removed")
    repo.comment(pr.number, "Use the + operator.")
    state = repo.wait_phase("ready", timeout=120)
    assert repo.file("calc.py", repo.pull().head.ref) == CALC_FIXED
    answered = [r for r in stack.model.requests() if "Use the + operator." in json.dumps(r)]
    assert answered, "the answer reached the agent"


def test_c_review_with_changes_requested_is_addressed_and_answered(
    stack: Stack, tmp_path: Path
) -> None:
    stack.model.set_script([PLAN, *write(CALC_FIXED), *write(CALC_DOCUMENTED, "docstring added")])
    repo = Repo(stack, tmp_path)
    repo.label()
    first = repo.wait_phase("ready", timeout=150)
    pr = repo.pull()
    repo.alice.rest.pulls.create_review(
        "alice",
        repo.name,
        pr.number,
        event="REQUEST_CHANGES",
        body="Please document the module.",
        comments=[{"path": "calc.py", "line": 1, "body": "A module docstring here, please."}],
    )
    wait_until(
        lambda: (
            repo.state().get("phase") == "ready"
            and repo.state().get("head_sha") != first["head_sha"]
        ),
        120,
        "the review to be addressed and CI to pass again",
    )
    head = repo.pull().head
    assert repo.file("calc.py", head.ref) == CALC_DOCUMENTED
    review_comments = repo.alice.rest.pulls.list_review_comments(
        "alice", repo.name, pr.number
    ).parsed_data
    replies = [c for c in review_comments if c.user.login.endswith("[bot]")]
    assert replies and all(c.in_reply_to_id == review_comments[0].id for c in replies)
    assert len(replies) == 1 and head.sha in (replies[0].body or "")
    asked = json.dumps(stack.model.requests()[-2])
    assert "A module docstring here, please." in asked and "calc.py" in asked


def test_g_tests_rewritten_out_of_unittest_are_green_but_not_ready(
    stack: Stack, tmp_path: Path
) -> None:
    # What a weak model did: the failing test as a bare function, which unittest never runs.
    bare = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    rewrite = call("write_file", path="test_calc.py", content=bare)
    stack.model.set_script([PLAN, rewrite, *[call("finish", summary="tests pass")] * 3])
    repo = Repo(stack, tmp_path)
    repo.label()
    state = repo.wait_phase("asked", timeout=180)
    assert state["parked"] == {"kind": "tests", "node": "tests", "title": state["parked"]["title"]}
    pr = repo.pull()
    assert pr.draft is True
    assert state["ci_history"][-1]["failing"] == 0  # CI was green: it ran no test at all
    [question] = [b for b in repo.bot_comments(pr.number) if "stays a draft" in b]
    assert "test class AddTest removed from test\\_calc.py" in question
    assert "fewer tests ran in CI job Unit tests: 1 before the change, 0 after it" in question
    repo.comment(pr.number, "/pilot continue")
    state = repo.wait_phase("ready", timeout=120)
    assert repo.pull().draft is False
    assert state["test_guard"]["by"] == "alice"


def test_d_stop_mid_run(stack: Stack, tmp_path: Path) -> None:
    slow = {**call("write_file", path="calc.py", content=CALC_FIXED), "delay_s": 60}
    stack.model.set_script([PLAN, slow, call("finish", summary="x")])
    repo = Repo(stack, tmp_path)
    repo.label()
    wait_until(lambda: len(stack.model.requests()) >= 2, 60, "the agent to start")
    started = time.monotonic()
    repo.comment(repo.number, "/pilot stop")
    state = repo.wait_phase("stopped", timeout=30)
    assert time.monotonic() - started < 20
    assert state.get("pr_number") is None
    labels = repo.alice.rest.issues.list_labels_on_issue("alice", repo.name, repo.number)
    assert [label.name for label in labels.parsed_data] == []
    time.sleep(2)
    assert repo.state()["phase"] == "stopped"
    assert len(stack.model.requests()) == 2


def test_e_a_redelivered_check_suite_does_nothing_twice(stack: Stack, tmp_path: Path) -> None:
    stack.model.set_script([PLAN, *write(CALC_FIXED)])
    repo = Repo(stack, tmp_path)
    repo.label()
    repo.wait_phase("ready", timeout=150)
    pr = repo.pull()
    before_comments = repo.bot_comments(pr.number) + repo.bot_comments(repo.number)
    before_state = repo.state()
    requests_before = len(stack.model.requests())
    app = stack.sim.app()
    deliveries = app.rest.apps.list_webhook_deliveries(per_page=100).parsed_data
    suites = [d for d in deliveries if d.event == "check_suite" and d.action == "completed"]
    assert suites
    # GitHub's redelivery (same GUID) and a replay under a new delivery id.
    app.rest.apps.redeliver_webhook_delivery(suites[0].id)
    full = app.rest.apps.get_webhook_delivery(suites[0].id).json()
    body = json.dumps(full["request"]["payload"]).encode()
    secret = str(stack.sim.app_info["webhook_secret"]).encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    web_url = stack.sim.webhook_url
    assert web_url is not None
    answer = httpx.post(
        web_url,
        content=body,
        headers={
            "X-GitHub-Event": "check_suite",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": signature,
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 202
    time.sleep(4)
    assert repo.bot_comments(pr.number) + repo.bot_comments(repo.number) == before_comments
    after = repo.state()
    assert after["phase"] == "ready" and after["head_sha"] == before_state["head_sha"]
    assert len(stack.model.requests()) == requests_before


def test_f_someone_without_write_changes_nothing(stack: Stack, tmp_path: Path) -> None:
    stack.model.set_script([PLAN, call("ask_human", question="Which operator?")])
    repo = Repo(stack, tmp_path)
    repo.label()
    state = repo.wait_phase("asked", timeout=90)
    repo.comment(repo.number, "Use minus, obviously.", who="mallory")
    repo.comment(repo.number, "/pilot stop", who="mallory")
    wait_until(
        lambda: any("@mallory" in b for b in repo.bot_comments(repo.number)),
        30,
        "the explanation to mallory",
    )
    time.sleep(3)
    explained = [b for b in repo.bot_comments(repo.number) if "@mallory" in b]
    assert len(explained) == 1
    after = repo.state()
    assert after["phase"] == "asked" and after.get("answers") == state.get("answers")
    assert len(stack.model.requests()) == 2
