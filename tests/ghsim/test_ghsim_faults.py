"""ghsim delivers as GitHub does (one attempt, redelivery on request) and, in its fault mode,
drops, shuffles and delays deliveries and fails API requests by rule."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from ghsim.faults import ApiFaults, ApiRule, DeliveryDice, DeliveryFaults
from tests.ghsim_support import GhsimProcess, free_port, unique, wait_until

COMMENT_EDITS = r"/repos/.+/issues/comments/\d+"


@dataclass
class Post:
    guid: str
    event: str
    payload: dict[str, Any]
    status: int


@dataclass
class ScriptedReceiver:
    """Answers each POST with the next status of ``script`` (200 once it runs out) and records
    every POST, failed ones included."""

    port: int = field(default_factory=free_port)
    script: list[int] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def start(self) -> ScriptedReceiver:
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.posts.append(
                        Post(
                            self.headers["X-GitHub-Delivery"],
                            self.headers["X-GitHub-Event"],
                            json.loads(body),
                            status,
                        )
                    )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def comments(self, repo: str) -> list[Post]:
        return [
            p
            for p in list(self.posts)
            if p.event == "issue_comment" and p.payload["repository"]["full_name"] == repo
        ]


@dataclass
class Sim:
    process: GhsimProcess
    receiver: ScriptedReceiver

    def api(self, path: str) -> str:
        return f"{self.process.api_url}{path.lstrip('/')}"

    def faults(self) -> dict[str, Any]:
        return dict(httpx.get(self.api("_ghsim/faults")).json())

    def set_delivery_faults(self, **faults: Any) -> None:
        resp = httpx.put(self.api("_ghsim/faults/deliveries"), json=faults)
        assert resp.status_code == 200, resp.text

    def add_rule(self, **rule: Any) -> dict[str, Any]:
        resp = httpx.post(self.api("_ghsim/faults/api"), json=rule)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    def repo_with_issue(self) -> tuple[str, dict[str, str]]:
        """A new repository with issue 1, its own owner (so its own rate limits), and its
        ``issues.opened`` delivered before any fault is set."""
        owner = unique("owner")
        auth = {"Authorization": f"token ghp_sim_{owner}"}
        name = unique("repo")
        assert httpx.post(self.api("user/repos"), json={"name": name}, headers=auth).is_success
        repo = f"{owner}/{name}"
        resp = httpx.post(self.api(f"repos/{repo}/issues"), json={"title": "t"}, headers=auth)
        assert resp.status_code == 201
        wait_until(
            lambda: any(
                p.event == "issues" and p.payload["repository"]["full_name"] == repo
                for p in self.receiver.posts
            ),
            10,
            "issues.opened",
        )
        return repo, auth

    def comment(self, repo: str, auth: dict[str, str], body: str) -> httpx.Response:
        return httpx.post(
            self.api(f"repos/{repo}/issues/1/comments"), json={"body": body}, headers=auth
        )

    def deliveries(self, **params: Any) -> list[dict[str, Any]]:
        app = self.process.app()
        resp = app.rest.apps.list_webhook_deliveries(per_page=100, **params)
        return [d.model_dump() for d in resp.parsed_data]

    def redeliver(self, delivery_id: int) -> None:
        resp = self.process.app().rest.apps.redeliver_webhook_delivery(delivery_id)
        assert resp.status_code == 202


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    receiver = ScriptedReceiver().start()
    flags = [
        "--delivery-fault",
        "reorder_hold_ms=150",
        "--api-fault",
        "GET /meta 503 count=1 retry_after=3",
    ]
    data = tmp_path_factory.mktemp("ghsim-faults") / "data"
    process = GhsimProcess(data, receiver.url, extra_args=flags).start()
    yield Sim(process, receiver)
    process.stop()
    receiver.stop()


@pytest.fixture(autouse=True)
def no_faults_after(sim: Sim) -> Iterator[None]:
    yield
    httpx.delete(sim.api("_ghsim/faults"))
    sim.receiver.script.clear()


def test_start_up_flags_set_the_fault_mode(sim: Sim) -> None:
    faults = sim.faults()
    assert faults["deliveries"]["reorder_hold_ms"] == 150
    [rule] = faults["api"]
    assert (rule["method"], rule["path"], rule["status"]) == ("GET", "/meta", 503)
    refused = httpx.get(sim.api("meta"))
    assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
    assert refused.json()["message"] == "Service Unavailable"
    assert httpx.get(sim.api("meta")).status_code != 503
    assert sim.faults()["api"] == []


def test_a_failed_delivery_gets_one_attempt_then_is_redelivered_on_request(sim: Sim) -> None:
    repo, auth = sim.repo_with_issue()
    sim.receiver.script = [500]
    sim.comment(repo, auth, "once")
    first = wait_until(lambda: sim.receiver.comments(repo), 10, "the first attempt")[0]
    assert first.status == 500
    time.sleep(1.5)  # ghsim used to retry after 1 s
    assert len(sim.receiver.comments(repo)) == 1

    [failed] = [d for d in sim.deliveries(status="failure") if d["guid"] == first.guid]
    assert failed["status"] == "Invalid HTTP Response: 500" and failed["status_code"] == 500
    assert len(_detail(sim, failed["id"])["attempts"]) == 1

    sim.redeliver(failed["id"])
    wait_until(lambda: len(sim.receiver.comments(repo)) == 2, 10, "the redelivery")
    again = sim.receiver.comments(repo)[1]
    assert again.guid == first.guid and again.status == 200
    [copy] = [d for d in sim.deliveries(status="success") if d["guid"] == first.guid]
    assert copy["redelivery"] is True and copy["id"] != failed["id"] and copy["status"] == "OK"


def test_a_seeded_drop_fraction_drops_the_deliveries_the_seed_says(sim: Sim) -> None:
    repo, auth = sim.repo_with_issue()
    sim.set_delivery_faults(drop=0.5, seed=11)
    bodies = [f"c{i}" for i in range(12)]
    for body in bodies:
        assert sim.comment(repo, auth, body).status_code == 201
    dice = DeliveryDice(DeliveryFaults(drop=0.5, seed=11))
    dropped = {body for body in bodies if dice.dropped()}
    assert 0 < len(dropped) < len(bodies)

    def failed() -> list[dict[str, Any]]:
        return [d for d in sim.deliveries(status="failure") if d["event"] == "issue_comment"]

    kept = len(bodies) - len(dropped)
    wait_until(lambda: len(sim.receiver.comments(repo)) == kept, 10, "the kept deliveries")
    wait_until(lambda: len([d for d in failed() if _repo_of(sim, d) == repo]) == len(dropped))
    got = [p.payload["comment"]["body"] for p in sim.receiver.comments(repo)]
    assert got == [b for b in bodies if b not in dropped]
    mine = [d for d in failed() if _repo_of(sim, d) == repo]
    assert {(d["status"], d["status_code"]) for d in mine} == {("failed to connect to host", 502)}

    httpx.delete(sim.api("_ghsim/faults/deliveries"))
    sim.redeliver(mine[0]["id"])
    wait_until(lambda: len(sim.receiver.comments(repo)) == kept + 1, 10, "the redelivery")
    assert sim.receiver.comments(repo)[-1].payload["comment"]["body"] in dropped


def test_reordering_shuffles_a_window_as_the_seed_says(sim: Sim) -> None:
    repo, auth = sim.repo_with_issue()
    sim.set_delivery_faults(reorder_window=6, reorder_hold_ms=3000, seed=3)
    bodies = [f"r{i}" for i in range(6)]
    for body in bodies:
        sim.comment(repo, auth, body)
    wait_until(lambda: len(sim.receiver.comments(repo)) == 6, 10, "six deliveries")
    got = [p.payload["comment"]["body"] for p in sim.receiver.comments(repo)]
    expected = DeliveryDice(DeliveryFaults(reorder_window=6, seed=3)).ordered(bodies)
    assert got == expected and got != bodies


def test_a_delay_holds_each_delivery(sim: Sim) -> None:
    repo, auth = sim.repo_with_issue()
    sim.set_delivery_faults(delay_ms=700)
    began = time.monotonic()
    sim.comment(repo, auth, "late")
    # Held, it has no outcome yet, so it is not listed.
    assert not [
        d for d in sim.deliveries() if d["event"] == "issue_comment" and _repo_of(sim, d) == repo
    ]
    wait_until(lambda: sim.receiver.comments(repo), 10, "the delayed delivery")
    assert time.monotonic() - began >= 0.7


def test_an_api_rule_for_a_duration(sim: Sim) -> None:
    repo, auth = sim.repo_with_issue()
    comment = sim.comment(repo, auth, "edit me").json()
    url = sim.api(f"repos/{repo}/issues/comments/{comment['id']}")
    rule = sim.add_rule(method="patch", path=COMMENT_EDITS, status=502, seconds=1.0)
    assert rule["method"] == "PATCH" and 0 < rule["expires_in"] <= 1.0
    refused = httpx.patch(url, json={"body": "x"}, headers=auth)
    assert refused.status_code == 502
    assert refused.json()["message"] == "Server Error"
    assert "x-ratelimit-remaining" in refused.headers
    assert httpx.get(url, headers=auth).status_code == 200
    issue = httpx.patch(sim.api(f"repos/{repo}/issues/1"), json={"title": "u"}, headers=auth)
    assert issue.status_code == 200
    time.sleep(1.05)
    assert httpx.patch(url, json={"body": "x"}, headers=auth).status_code == 200
    assert sim.faults()["api"] == []


def test_an_api_rule_for_a_count_answers_as_a_secondary_rate_limit(sim: Sim) -> None:
    repo, auth = sim.repo_with_issue()
    sim.add_rule(
        method="POST", path=r"/repos/.+/issues/\d+/comments", status=429, count=2, retry_after=7
    )
    for _ in range(2):
        refused = sim.comment(repo, auth, "limited")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "7"
        body = refused.json()
        assert body["message"].startswith("You have exceeded a secondary rate limit.")
        assert refused.headers["x-github-request-id"] in body["message"]
    assert sim.comment(repo, auth, "through").status_code == 201
    sim.add_rule(method="*", path=r"/repos/.+/issues/\d+/comments", status=403, count=1)
    forbidden = sim.comment(repo, auth, "limited")
    assert forbidden.status_code == 403 and "secondary rate limit" in forbidden.json()["message"]
    assert sim.faults()["api"] == []


def test_rules_are_listed_and_cleared(sim: Sim) -> None:
    one = sim.add_rule(method="GET", path="/a", status=503)
    two = sim.add_rule(method="GET", path="/b", status=504, message="slow")
    assert [r["id"] for r in httpx.get(sim.api("_ghsim/faults/api")).json()] == [
        one["id"],
        two["id"],
    ]
    assert httpx.get(sim.api("b")).json()["message"] == "slow"
    assert httpx.delete(sim.api(f"_ghsim/faults/api/{one['id']}")).status_code == 204
    assert httpx.delete(sim.api(f"_ghsim/faults/api/{one['id']}")).status_code == 404
    assert [r["id"] for r in sim.faults()["api"]] == [two["id"]]
    assert httpx.delete(sim.api("_ghsim/faults/api")).status_code == 204
    assert sim.faults()["api"] == []
    for bad in ({"status": 200}, {"path": "(", "status": 502}, {"method": "G T", "status": 502}):
        rule = {"method": "GET", "path": "/x", **bad}
        assert httpx.post(sim.api("_ghsim/faults/api"), json=rule).status_code == 422
    assert httpx.put(sim.api("_ghsim/faults/deliveries"), json={"drop": 2}).status_code == 422
    sim.set_delivery_faults(drop=0.25, seed=1)
    assert httpx.delete(sim.api("_ghsim/faults")).status_code == 204
    assert sim.faults()["deliveries"] == DeliveryFaults().as_json()


# the pure decisions ---------------------------------------------------------------------------


def test_a_seed_replays_its_decisions_and_each_kind_has_its_own_sequence() -> None:
    def decisions(**faults: Any) -> tuple[list[bool], list[int], list[float]]:
        dice = DeliveryDice(DeliveryFaults(seed=42, **faults))
        return (
            [dice.dropped() for _ in range(50)],
            dice.ordered(list(range(8))),
            [dice.delay_s() for _ in range(20)],
        )

    drops, order, delays = decisions(drop=0.3, reorder_window=8, delay_ms=400, delay_random=True)
    assert decisions(drop=0.3, reorder_window=8, delay_ms=400, delay_random=True) == (
        drops,
        order,
        delays,
    )
    assert decisions(drop=0.3)[0] == drops  # delays and order do not shift the drops
    assert 5 < sum(drops) < 25 and sorted(order) == list(range(8))
    assert all(0 <= d <= 0.4 for d in delays) and len(set(delays)) > 1
    assert decisions(delay_ms=400)[2] == [0.4] * 20
    assert not any(DeliveryDice(DeliveryFaults()).dropped() for _ in range(100))


def test_api_rules_end_by_time_or_count_and_match_method_and_whole_path() -> None:
    faults = ApiFaults([ApiRule.parse(f"PATCH {COMMENT_EDITS} 502 seconds=60")], now=0.0)
    assert faults.answer("PATCH", "/repos/o/r/issues/comments/5", 59.0) is not None
    assert faults.answer("GET", "/repos/o/r/issues/comments/5", 59.0) is None
    assert faults.answer("PATCH", "/repos/o/r/issues/comments/5/reactions", 59.0) is None
    assert faults.answer("PATCH", "/repos/o/r/issues/comments/5", 60.0) is None
    assert faults.listed(60.0) == []
    faults.add(ApiRule("*", "/x", 503, count=2), now=0.0)
    assert [faults.answer(m, "/x", 1.0) is not None for m in ("GET", "POST", "GET")] == [
        True,
        True,
        False,
    ]
    with pytest.raises(ValueError, match="status"):
        ApiRule.parse("GET /x 200")
    with pytest.raises(ValueError, match="unknown option"):
        ApiRule.parse("GET /x 502 minutes=3")
    with pytest.raises(ValueError, match="drop"):
        DeliveryFaults().with_overrides(["drop=1.5"])
    with pytest.raises(ValueError, match="unknown delivery fault"):
        DeliveryFaults().with_overrides(["lose=0.5"])


def _detail(sim: Sim, delivery_id: int) -> dict[str, Any]:
    """The delivery as ghsim answers it, ``attempts`` (ghsim's own field) included."""
    return dict(sim.process.app().request("GET", f"/app/hook/deliveries/{delivery_id}").json())


def _repo_of(sim: Sim, delivery: dict[str, Any]) -> str:
    return str(_detail(sim, delivery["id"])["request"]["payload"]["repository"]["full_name"])
