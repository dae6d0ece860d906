"""How clearing's sqlite stores use their files: opened in WAL mode with their schema, errors turned into the
store's own, and the newest-first keyset pages every growing list of the service pages with."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from clearing.errors import ClearingError


def open_db(
    path: str | Path, schema: str, *, what: str, error: Callable[[str], ClearingError],
    synchronous: Literal["NORMAL", "FULL"] | None = None,
) -> sqlite3.Connection:  # fmt: skip
    """The store's file in autocommit and WAL mode, with `synchronous` set when given and `schema` applied;
    a failure raises `error("cannot open <what> <path>: ...")`."""
    try:
        db = sqlite3.connect(str(path), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        if synchronous is not None:
            db.execute(f"PRAGMA synchronous={synchronous}")
        db.executescript(schema)
    except sqlite3.Error as exc:
        raise error(f"cannot open {what} {path}: {exc}") from exc
    return db


def newest_first(db: sqlite3.Connection, select: str, key: str, filters: Sequence[tuple[str, object | None]],
                 *, after: int | None, limit: int) -> list[tuple[Any, ...]]:
    """Rows of `select` (a SELECT ... FROM, without WHERE) matching every filter whose value is not None, with
    `key` below the cursor `after`, ordered by `key` descending; each filter is a SQL clause with one `?`."""
    clauses, params = ["1 = 1"], []
    for clause, value in (*filters, (f"{key} < ?", after)):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    sql = f"{select} WHERE {' AND '.join(clauses)} ORDER BY {key} DESC LIMIT ?"
    return db.execute(sql, [*params, limit]).fetchall()
