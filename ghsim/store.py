"""Persistent state: a small JSON-document store on SQLite, safe to share between threads.

Every object (user, repo, issue, comment, delivery, check run...) is a document of a *kind*
with a per-kind incrementing integer id. Documents are plain dicts stored as JSON; queries
filter on top-level fields with ``json_extract``. Modules needing real tables can add them
with :meth:`Store.register_schema` and use :meth:`Store.execute`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Doc = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Ids start high enough to look like GitHub's and never collide between kinds in a test.
_FIRST_ID = {"user": 1000, "repo": 50000}


class Store:
    """Documents by kind and id, in ``<data_dir>/ghsim.db``; every method is one transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several calls into one atomic transaction (re-entrant, same thread)."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def register_schema(self, sql: str) -> None:
        """Create a module's own tables (idempotent SQL, e.g. CREATE TABLE IF NOT EXISTS)."""
        with self._lock:
            self._db.executescript(sql)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run raw SQL against a module's own tables and return all rows."""
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    def next_id(self, name: str, start: int = 1) -> int:
        """Next value of a named counter (per-kind ids, per-repo issue numbers...)."""
        with self.transaction():
            row = self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
            value = start if row is None else int(row[0]) + 1
            self._db.execute(
                "INSERT INTO counters(name, value) VALUES(?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                (name, value),
            )
            return value

    def insert(self, kind: str, doc: Doc) -> Doc:
        """Store a new document; sets and returns it with its new ``id``."""
        with self.transaction():
            doc = dict(doc)
            doc["id"] = self.next_id(f"kind:{kind}", _FIRST_ID.get(kind, 1))
            self._db.execute(
                "INSERT INTO docs(kind, id, data) VALUES(?, ?, ?)",
                (kind, doc["id"], json.dumps(doc)),
            )
            return doc

    def get(self, kind: str, doc_id: int) -> Doc | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM docs WHERE kind=? AND id=?", (kind, doc_id)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def update(self, kind: str, doc_id: int, changes: Doc) -> Doc:
        """Merge ``changes`` into a document (top level) and return the new document."""
        with self.transaction():
            doc = self.get(kind, doc_id)
            if doc is None:
                raise KeyError(f"{kind} {doc_id}")
            doc.update(changes)
            doc["id"] = doc_id
            self._db.execute(
                "UPDATE docs SET data=? WHERE kind=? AND id=?", (json.dumps(doc), kind, doc_id)
            )
            return doc

    def delete(self, kind: str, doc_id: int) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM docs WHERE kind=? AND id=?", (kind, doc_id))
            return cur.rowcount > 0

    def query(self, kind: str, order: str = "id", **filters: Any) -> list[Doc]:
        """Documents of ``kind`` whose top-level fields equal ``filters``, ordered by ``id``.

        ``order="-id"`` sorts newest first. ``None`` matches JSON null or an absent field.
        """
        sql = "SELECT data FROM docs WHERE kind=?"
        params: list[Any] = [kind]
        for field, value in filters.items():
            if not field.isidentifier():
                raise ValueError(f"bad field {field!r}")
            if value is None:
                sql += f" AND json_extract(data, '$.{field}') IS NULL"
                continue
            sql += f" AND json_extract(data, '$.{field}') = ?"
            params.append(int(value) if isinstance(value, bool) else value)
        sql += " ORDER BY id DESC" if order == "-id" else " ORDER BY id"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    def first(self, kind: str, **filters: Any) -> Doc | None:
        found = self.query(kind, **filters)
        return found[0] if found else None

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )
