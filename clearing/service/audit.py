"""The append-only audit log of every write attempt, allowed or refused: who, when, what, outcome.

sqlite triggers refuse UPDATE and DELETE, as in the break store, so the trail can only grow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from clearing.errors import AuditError
from clearing.sqlite_db import newest_first, open_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
    bank TEXT, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL, outcome TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
"""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    role: str
    bank: str | None
    method: str
    path: str
    status: int
    outcome: str


class AuditLog:
    def __init__(self, path: str | Path) -> None:
        # FULL: an acknowledged write's trail survives power loss
        self._db = open_db(path, SCHEMA, what="audit log", error=AuditError, synchronous="FULL")

    def close(self) -> None:
        self._db.close()

    def append(
        self, *, at: dt.datetime, actor: str, role: str, bank: str | None, method: str, path: str, status: int, outcome: str
    ) -> int:
        cur = self._db.execute(
            "INSERT INTO audit (at, actor, role, bank, method, path, status, outcome) VALUES (?,?,?,?,?,?,?,?)",
            (at.isoformat(), actor, role, bank, method, path, status, outcome),
        )
        return int(cur.lastrowid or 0)

    def page(self, *, bank: str | None, after: int | None, limit: int) -> list[AuditEntry]:
        """Newest first; `after` is the last seq seen; `bank` None: every bank's entries."""
        rows = newest_first(self._db, "SELECT seq, at, actor, role, bank, method, path, status, outcome FROM audit",
                            "seq", [("bank = ?", bank)], after=after, limit=limit)
        return [AuditEntry(*row) for row in rows]
