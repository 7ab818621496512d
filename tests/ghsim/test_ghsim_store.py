"""ghsim's document store, its in-memory caches and SQL-side paging, against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import Request, Response

from ghsim.config import SimConfig
from ghsim.errors import GitHubError
from ghsim.paging import paginate, paginate_query
from ghsim.sim import Sim
from ghsim.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ghsim.db")


def test_queries_filter_count_and_page(store: Store) -> None:
    for n in range(10):
        store.insert("comment", {"issue_id": n % 2, "body": f"c{n}", "flag": n == 3})
    odd = store.query("comment", issue_id=1)
    assert [c["body"] for c in odd] == ["c1", "c3", "c5", "c7", "c9"]
    assert store.count("comment", issue_id=1) == 5
    assert [c["body"] for c in store.query("comment", issue_id=1, limit=2, offset=1)] == [
        "c3",
        "c5",
    ]
    assert [c["body"] for c in store.query("comment", order="-id", limit=2)] == ["c9", "c8"]
    assert [c["body"] for c in store.query("comment", body=["c2", "c4", "nope"])] == ["c2", "c4"]
    assert store.query("comment", body=[]) == []
    assert store.first("comment", flag=True)["body"] == "c3"  # type: ignore[index]
    assert store.first("comment", issue_id=7) is None


def test_a_rolled_back_change_is_not_cached(store: Store) -> None:
    repo = store.insert("repo", {"name": "before"})
    assert store.get("repo", repo["id"])["name"] == "before"  # type: ignore[index]
    with pytest.raises(RuntimeError), store.transaction():
        store.update("repo", repo["id"], {"name": "rolled back"})
        assert store.get("repo", repo["id"])["name"] == "rolled back"  # type: ignore[index]
        raise RuntimeError
    assert store.get("repo", repo["id"])["name"] == "before"  # type: ignore[index]
    store.update("repo", repo["id"], {"name": "after"})
    assert store.get("repo", repo["id"])["name"] == "after"  # type: ignore[index]
    fresh = store.get("repo", repo["id"])
    assert fresh is not None
    fresh["name"] = "changed by a caller"
    assert store.get("repo", repo["id"])["name"] == "after"  # type: ignore[index]


def test_lookups_remember_only_what_was_committed(tmp_path: Path) -> None:
    sim = Sim(SimConfig(data_dir=tmp_path / "data"))
    repo = sim.store.insert("repo", {"full_name_lower": "o/r", "name": "r"})
    with pytest.raises(RuntimeError), sim.store.transaction():
        sim.store.insert("issue", {"repo_id": repo["id"], "number": 1, "title": "gone"})
        assert sim.issue_or_404(repo, 1)["title"] == "gone"
        raise RuntimeError
    # The rolled-back issue's id is handed out again, to another issue.
    other = sim.store.insert("issue", {"repo_id": repo["id"], "number": 2, "title": "kept"})
    with pytest.raises(GitHubError):
        sim.issue_or_404(repo, 1)
    assert sim.issue_or_404(repo, 2)["id"] == other["id"]
    assert sim.find_repo("O", "R") == sim.repo(repo["id"])


def _request(query: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "server": ("ghsim", 80),
            "path": "/api/v3/things",
            "query_string": query.encode(),
            "headers": [],
        }
    )


@pytest.mark.parametrize("query", ["", "per_page=3", "per_page=3&page=2", "per_page=3&page=9"])
def test_paging_in_sql_matches_paging_in_memory(store: Store, query: str) -> None:
    for n in range(8):
        store.insert("review", {"pull_id": 1, "n": n})
    in_memory, in_sql = Response(), Response()
    items = paginate(_request(query), in_memory, store.query("review", pull_id=1))
    assert paginate_query(_request(query), in_sql, store, "review", pull_id=1) == items
    assert in_sql.headers.get("link") == in_memory.headers.get("link")


def test_a_relative_data_dir_is_made_absolute_where_ghsim_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `issue-pilot sim --data-dir .run/ghsim`: git later runs the hooks kept there from each
    # repository's own directory, where the relative path would name nothing.
    monkeypatch.chdir(tmp_path)
    config = SimConfig(data_dir=Path(".run/ghsim"))
    assert config.data_dir == tmp_path / ".run" / "ghsim"
    assert config.repos_dir.is_absolute()
