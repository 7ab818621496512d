"""Persistent state: a small JSON-document store on SQLite, safe to share between threads.

Every object (user, repo, issue, comment, delivery, check run...) is a document of a *kind*
with a per-kind incrementing integer id. Documents are plain dicts stored as JSON; queries
filter on top-level fields with ``json_extract``. Modules needing real tables can add them
with :meth:`Store.register_schema` and use :meth:`Store.execute`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

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
# Fields that lookups and lists filter on; their indexes keep those queries off a scan of the
# kind. Ending in ``id`` serves ORDER BY id; partial, so documents without the field (most
# kinds) cost no index upkeep.
_INDEXED_FIELDS = (
    "repo_id",
    "issue_id",
    "pull_id",
    "suite_id",
    "run_id",
    "subject_id",
    "full_name_lower",
    "login_lower",
    "token",
)
_INDEXES = "".join(
    f"CREATE INDEX IF NOT EXISTS docs_{field} ON docs(kind, json_extract(data, '$.{field}'), id)"
    f" WHERE json_extract(data, '$.{field}') IS NOT NULL;\n"
    for field in _INDEXED_FIELDS
)

# Parents that serializers read by id for nearly every answer; kept in memory as stored.
_CACHED_KINDS = frozenset({"repo", "issue", "pull"})

# Ids start high enough to look like GitHub's and never collide between kinds in a test.
_FIRST_ID = {"user": 1000, "repo": 50000}


class Store:
    """Documents by kind and id, in ``<data_dir>/ghsim.db``; every method is one transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        # (kind, id) -> committed text of documents of _CACHED_KINDS, see _keep.
        self._cache: dict[tuple[str, int], str] = {}
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA + _INDEXES)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (this thread's or another's): what is read then may
        still be rolled back, and so is nothing to remember."""
        return self._db.in_transaction

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
        with self._lock:
            rows = self._db.execute(
                "INSERT INTO counters(name, value) VALUES(?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value=value+1 RETURNING value",
                (name, start),
            ).fetchall()
        return int(rows[0][0])

    def insert(self, kind: str, doc: Doc, doc_id: int | None = None) -> Doc:
        """Store a new document; sets and returns it with its new ``id``.

        With ``doc_id`` the document takes that id, which must be above every id of its kind
        so far (GitHub gives a workflow job the id of its check run); the counter follows.
        """
        with self.transaction():
            doc = dict(doc)
            if doc_id is None:
                doc["id"] = self.next_id(f"kind:{kind}", _FIRST_ID.get(kind, 1))
            else:
                with self._lock:
                    row = self._db.execute(
                        "SELECT value FROM counters WHERE name=?", (f"kind:{kind}",)
                    ).fetchone()
                    if row is not None and int(row[0]) >= doc_id:
                        raise ValueError(f"{kind} {doc_id} would reuse an id")
                    self._db.execute(
                        "INSERT INTO counters(name, value) VALUES(?, ?) "
                        "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                        (f"kind:{kind}", doc_id),
                    )
                doc["id"] = doc_id
            data = _encode(doc)
            self._db.execute(
                "INSERT INTO docs(kind, id, data) VALUES(?, ?, ?)", (kind, doc["id"], data)
            )
            self._keep(kind, doc["id"], data)
            return doc

    def get(self, kind: str, doc_id: int) -> Doc | None:
        if not _storable(doc_id):
            return None  # no id is that large (a path like /issues/99999999999999999999)
        data = self._cache.get((kind, doc_id))
        if data is None:
            with self._lock:
                row = self._db.execute(
                    "SELECT data FROM docs WHERE kind=? AND id=?", (kind, doc_id)
                ).fetchone()
                if row is None:
                    return None
                data = row[0]
                self._keep(kind, doc_id, data)
        return _decode(data)

    def update(self, kind: str, doc_id: int, changes: Doc) -> Doc:
        """Merge ``changes`` into a document (top level) and return the new document."""
        # One write: the lock keeps read and write together, no BEGIN/COMMIT needed.
        with self._lock:
            doc = self.get(kind, doc_id)
            if doc is None:
                raise KeyError(f"{kind} {doc_id}")
            doc.update(changes)
            doc["id"] = doc_id
            data = _encode(doc)
            self._db.execute("UPDATE docs SET data=? WHERE kind=? AND id=?", (data, kind, doc_id))
            self._keep(kind, doc_id, data)
            return doc

    def delete(self, kind: str, doc_id: int) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM docs WHERE kind=? AND id=?", (kind, doc_id))
            self._cache.pop((kind, doc_id), None)
            return cur.rowcount > 0

    def query(
        self,
        kind: str,
        order: str = "id",
        limit: int = -1,
        offset: int = 0,
        *,
        id_min: int | None = None,
        id_max: int | None = None,
        **filters: Any,
    ) -> list[Doc]:
        """Documents of ``kind`` whose top-level fields equal ``filters``, ordered by ``id``.

        ``order="-id"`` sorts newest first. ``None`` matches JSON null or an absent field, a
        list any of its values. ``limit`` and ``offset`` read a slice (a page) of the result;
        ``id_min`` and ``id_max`` (inclusive) bound the ids, for cursor pages.
        """
        where, params = _where(kind, filters)
        if id_min is not None:
            where += " AND id >= ?"
            params.append(id_min)
        if id_max is not None:
            where += " AND id <= ?"
            params.append(id_max)
        direction = "DESC" if order == "-id" else "ASC"
        sql = f"SELECT data FROM docs WHERE {where} ORDER BY id {direction} LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._db.execute(sql, [*params, limit, offset]).fetchall()
        return [_decode(r[0]) for r in rows]

    def count(self, kind: str, **filters: Any) -> int:
        """How many documents :meth:`query` would return, without reading them."""
        where, params = _where(kind, filters)
        with self._lock:
            row = self._db.execute(f"SELECT COUNT(*) FROM docs WHERE {where}", params).fetchone()
        return int(row[0])

    def page(
        self, kind: str, order: str, limit: int, offset: int, **filters: Any
    ) -> tuple[int, list[Doc]]:
        """:meth:`count` and a slice of :meth:`query`, read together."""
        with self._lock:
            total = self.count(kind, **filters)
            return total, self.query(kind, order, limit, offset, **filters)

    def first(self, kind: str, **filters: Any) -> Doc | None:
        where, params = _where(kind, filters)
        with self._lock:
            row = self._db.execute(
                f"SELECT data FROM docs WHERE {where} ORDER BY id LIMIT 1", params
            ).fetchone()
        return None if row is None else _decode(row[0])

    def _keep(self, kind: str, doc_id: int, data: str) -> None:
        """Cache committed text only: :meth:`get` reads the cache without the lock, so inside a
        transaction (which may yet roll back) the document is dropped from it instead."""
        if kind not in _CACHED_KINDS:
            return
        if self.in_transaction:
            self._cache.pop((kind, doc_id), None)
        else:
            self._cache[(kind, doc_id)] = data

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


_INT64 = range(-(2**63), 2**63)


def _storable(value: Any) -> bool:
    """Whether SQLite can bind ``value``: ints beyond 64 bits raise OverflowError."""
    return not isinstance(value, int) or value in _INT64


def _where(kind: str, filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """SQL condition and parameters for documents of ``kind`` matching ``filters``."""
    sql = "kind=?"
    params: list[Any] = [kind]
    for field, value in filters.items():
        if not field.isidentifier():
            raise ValueError(f"bad field {field!r}")
        if value is None:
            sql += f" AND json_extract(data, '$.{field}') IS NULL"
            continue
        if isinstance(value, list):
            value = [v for v in value if _storable(v)]
            sql += f" AND json_extract(data, '$.{field}') IN ({', '.join('?' * len(value))})"
            params += value
            continue
        if not _storable(value):
            sql += " AND 0"  # SQLite cannot even bind it; nothing stored equals it
            continue
        sql += f" AND json_extract(data, '$.{field}') = ?"
        params.append(int(value) if isinstance(value, bool) else value)
    return sql, params


def _encode(doc: Doc) -> str:
    # Non-string keys become strings, as json.dumps made them.
    return orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS).decode()


def _decode(data: str) -> Doc:
    doc: Doc = orjson.loads(data)
    return doc
