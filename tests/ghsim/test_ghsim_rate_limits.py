"""ghsim's rate limits: GitHub's numbers by default, refusals as GitHub answers them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from ghsim.app import create_app
from ghsim.config import SimConfig
from ghsim.rate_rules import Budget, RateLimits

ALICE = {"Authorization": "token ghp_sim_alice"}
Make = Callable[..., TestClient]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Make]:
    opened: list[TestClient] = []

    def open_with(**limits: Any) -> TestClient:
        config = SimConfig(
            data_dir=tmp_path / f"data{len(opened)}", rate_limits=RateLimits(**limits)
        )
        client = TestClient(create_app(config)).__enter__()
        opened.append(client)
        return client

    yield open_with
    for client in opened:
        client.__exit__(None, None, None)


def app_jwt(client: TestClient) -> tuple[str, int]:
    data_dir = Path(client.app.state.sim.config.data_dir)  # type: ignore[attr-defined]
    info = json.loads((data_dir / "app.json").read_text())
    now = int(time.time())
    claims = {"iss": str(info["app_id"]), "iat": now - 30, "exp": now + 540}
    key = (data_dir / "app.pem").read_text()
    return jwt.encode(claims, key, algorithm="RS256"), int(info["installation_id"])


def mint(client: TestClient) -> tuple[dict[str, str], int]:
    token, installation = app_jwt(client)
    resp = client.post(
        f"/api/v3/app/installations/{installation}/access_tokens",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 201, resp.text
    return {"Authorization": f"token {resp.json()['token']}"}, installation


def new_repo(client: TestClient) -> str:
    resp = client.post("/api/v3/user/repos", json={"name": "r", "auto_init": True}, headers=ALICE)
    assert resp.status_code == 201, resp.text
    return "/api/v3/repos/alice/r"


def test_every_answer_carries_the_budget_at_githubs_numbers(make: Make) -> None:
    client = make()
    first = client.get("/api/v3/user", headers=ALICE)
    second = client.get("/api/v3/repos/alice/nothing", headers=ALICE)
    assert second.status_code == 404
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert (first.headers["x-ratelimit-used"], second.headers["x-ratelimit-used"]) == ("1", "2")
    assert second.headers["x-ratelimit-remaining"] == "4998"
    assert second.headers["x-ratelimit-resource"] == "core"
    assert int(second.headers["x-ratelimit-reset"]) - time.time() == pytest.approx(3600, abs=5)
    graphql = client.post("/api/graphql", json={"query": "{ viewer { login } }"}, headers=ALICE)
    assert graphql.headers["x-ratelimit-resource"] == "graphql"
    assert graphql.headers["x-ratelimit-used"] == "1"
    anonymous = client.get("/api/v3/users/alice")
    assert anonymous.headers["x-ratelimit-limit"] == "60"


def test_a_user_over_the_primary_limit_is_refused_like_github(make: Make) -> None:
    client = make(user_per_hour=2)
    user_id = client.get("/api/v3/user", headers=ALICE).json()["id"]
    client.get("/api/v3/user", headers=ALICE)
    refused = client.get("/api/v3/user", headers=ALICE)
    assert refused.status_code == 403
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert "retry-after" not in refused.headers
    assert int(refused.headers["x-ratelimit-reset"]) > time.time()
    body = refused.json()
    assert body["message"].startswith(f"API rate limit exceeded for user ID {user_id}. ")
    assert "request ID" in body["message"]
    assert body["documentation_url"].startswith("https://docs.github.com/")
    # Another person's budget is their own.
    assert (
        client.get("/api/v3/user", headers={"Authorization": "token ghp_sim_bob"}).status_code
        == 200
    )


def test_all_tokens_of_an_installation_share_one_budget(make: Make) -> None:
    client = make(installation_per_hour=2, status=429)
    first, installation = mint(client)
    second, _ = mint(client)
    assert client.get("/api/v3/repos/alice/none", headers=first).status_code == 404
    assert client.get("/api/v3/repos/alice/none", headers=second).status_code == 404
    refused = client.get("/api/v3/repos/alice/none", headers=first)
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.json()["message"].startswith(
        f"API rate limit exceeded for installation ID {installation}."
    )
    usage = client.get("/api/v3/_ghsim/usage").json()
    assert usage["mints"] == {str(installation): 2}
    assert usage["usage"][f"installation:{installation}"]["refused_primary"] == 1


def test_points_a_minute_refuse_with_retry_after(make: Make) -> None:
    client = make(points_per_minute=12)
    repo = new_repo(client)  # 5 points
    assert client.post(f"{repo}/issues", json={"title": "a"}, headers=ALICE).status_code == 201
    assert client.get(f"{repo}/issues/1", headers=ALICE).status_code == 200  # 11 points
    assert client.get(f"{repo}/issues/1", headers=ALICE).status_code == 200  # 12
    refused = client.get(f"{repo}/issues/1", headers=ALICE)
    assert refused.status_code == 403
    assert refused.json()["message"].startswith(
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    )
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # A secondary refusal leaves the primary budget as it was.
    assert refused.headers["x-ratelimit-remaining"] == "4996"


def test_content_creation_is_limited_a_minute_and_an_hour(make: Make) -> None:
    client = make(content_per_minute=3, content_per_hour=1000)
    repo = new_repo(client)
    for title in ("a", "b"):
        assert (
            client.post(f"{repo}/issues", json={"title": title}, headers=ALICE).status_code == 201
        )
    refused = client.post(f"{repo}/issues", json={"title": "c"}, headers=ALICE)
    assert refused.status_code == 403 and "secondary rate limit" in refused.json()["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Editing is not creating: a PATCH still goes through.
    edited = client.patch(f"{repo}/issues/1", json={"body": "x"}, headers=ALICE)
    assert edited.status_code == 200

    hourly = make(content_per_minute=1000, content_per_hour=2)
    repo = new_repo(hourly)
    assert hourly.post(f"{repo}/issues", json={"title": "a"}, headers=ALICE).status_code == 201
    refused = hourly.post(f"{repo}/issues", json={"title": "b"}, headers=ALICE)
    assert refused.status_code == 403
    assert int(refused.headers["retry-after"]) > 60


def test_usage_counts_requests_and_writes_but_not_ghsims_own_endpoints(make: Make) -> None:
    client = make()
    repo = new_repo(client)
    client.get(f"{repo}/issues", headers=ALICE)
    client.get("/api/v3/_ghsim/usage")
    alice = client.get("/api/v3/_ghsim/usage").json()["usage"]["user:alice"]
    assert (alice["requests"], alice["rest"], alice["writes"], alice["content"]) == (2, 2, 1, 1)
    assert alice["calls"] == {"POST /user/repos": 1, "GET /repos/alice/r/issues": 1}
    assert client.delete("/api/v3/_ghsim/usage").status_code == 204
    assert client.get("/api/v3/_ghsim/usage").json()["usage"] == {}


def test_anonymous_callers_get_sixty_an_hour_and_githubs_words(make: Make) -> None:
    client = make(anonymous_per_hour=1)
    assert client.get("/api/v3/users/alice").status_code in (200, 404)
    refused = client.get("/api/v3/users/alice")
    assert refused.status_code == 403
    assert refused.json()["message"].startswith("API rate limit exceeded for testclient.")
    assert "Authenticated requests get a higher rate limit" in refused.json()["message"]


def test_disabled_limits_only_count(make: Make) -> None:
    client = make(enabled=False, user_per_hour=1)
    for _ in range(3):
        assert client.get("/api/v3/user", headers=ALICE).status_code == 200


# the rules, with a clock of our own ---------------------------------------------------------


def test_concurrent_requests_over_the_limit_are_refused_for_a_minute() -> None:
    limits = RateLimits(concurrent=2)
    budget = Budget(in_flight=2)
    verdict = budget.admit(limits, 5000, "core", "GET", False, 1000.0)
    assert (verdict.refused, verdict.retry_after) == ("secondary", 60)
    budget.in_flight = 1
    assert budget.admit(limits, 5000, "core", "GET", False, 1000.0).refused is None


def test_windows_slide_and_the_hour_starts_with_the_first_request() -> None:
    limits = RateLimits(points_per_minute=10, content_per_minute=100)
    budget = Budget()
    assert budget.admit(limits, 3, "core", "POST", True, 100.0).refused is None
    assert budget.admit(limits, 3, "core", "POST", True, 130.0).refused is None
    refused = budget.admit(limits, 3, "core", "GET", False, 150.0)
    assert (refused.refused, refused.retry_after) == (
        "secondary",
        10,
    )  # the 100.0 POST leaves at 160
    assert budget.admit(limits, 3, "core", "GET", False, 160.5).refused is None
    primary = budget.admit(limits, 3, "core", "GET", False, 1000.0)
    assert primary.refused == "primary" and primary.reset == 3700
    fresh = budget.admit(limits, 3, "core", "GET", False, 3700.0)
    assert (fresh.refused, fresh.used, fresh.reset) == (None, 1, 7300)


def test_overrides_name_known_limits_only() -> None:
    limits = RateLimits().with_overrides(["content_per_minute=1000", "enabled=false"])
    assert (limits.content_per_minute, limits.enabled, limits.points_per_minute) == (
        1000,
        False,
        900,
    )
    with pytest.raises(ValueError, match="unknown rate limit"):
        RateLimits().with_overrides(["per_day=3"])
