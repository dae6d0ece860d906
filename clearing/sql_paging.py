"""Newest-first keyset pages over a SQLite table: the query every growing list of the service pages with."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any


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
