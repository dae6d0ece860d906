"""Breaks that outlive a run: current state per break plus an append-only audit trail, in one sqlite file.

Lifecycle. By hand: OPEN -> ASSIGNED (assign), ASSIGNED -> ASSIGNED (reassign), ASSIGNED -> RESOLVED
(resolve). By the system at each run: a new break enters OPEN; a break OPEN or ASSIGNED that a complete
run no longer finds becomes RESOLVED ("auto-resolved"); a RESOLVED break that shows up again is reopened
(OPEN, first seen reset to that run's as-of date). Anything else raises IllegalTransition. Every transition,
manual or automatic, appends one audit event with who, when and a comment; sqlite triggers refuse any
UPDATE or DELETE of audit events.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from clearing.errors import BreakStoreError, IllegalTransition, UnknownBreak
from clearing.recon.breaks import BreakState, age_bucket, age_days
from clearing.sqlite_db import open_db

SYSTEM_ACTOR = "system"
BREAK_COLUMNS = (
    "bank, break_id, break_type, kind, key, state, assignee, first_seen, last_seen, chain_amount,"
    " books_amount, difference, detail"
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS breaks (
    bank TEXT NOT NULL, break_id TEXT NOT NULL, break_type TEXT NOT NULL, kind TEXT NOT NULL,
    key TEXT NOT NULL, state TEXT NOT NULL, assignee TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    chain_amount INTEGER, books_amount INTEGER, difference INTEGER NOT NULL, detail TEXT,
    PRIMARY KEY (bank, break_id)
);
CREATE TABLE IF NOT EXISTS break_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, bank TEXT NOT NULL, break_id TEXT NOT NULL, at TEXT NOT NULL,
    actor TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL, comment TEXT NOT NULL, run_id TEXT
);
CREATE INDEX IF NOT EXISTS break_events_by_break ON break_events (bank, break_id, seq);
CREATE TRIGGER IF NOT EXISTS break_events_no_update BEFORE UPDATE ON break_events
BEGIN SELECT RAISE(ABORT, 'break_events is append-only'); END;
CREATE TRIGGER IF NOT EXISTS break_events_no_delete BEFORE DELETE ON break_events
BEGIN SELECT RAISE(ABORT, 'break_events is append-only'); END;
"""
PRESENT_SCHEMA: dict[str, pl.DataType] = {
    "break_id": pl.Utf8(),
    "state": pl.Utf8(),
    "assignee": pl.Utf8(),
    "first_seen": pl.Date(),
    "age_days": pl.Int64(),
    "age_bucket": pl.Utf8(),
}


@dataclass(frozen=True)
class BreakRecord:
    bank: str
    break_id: str
    break_type: str
    kind: str
    key: str
    state: BreakState
    assignee: str | None
    first_seen: dt.date
    last_seen: dt.date
    chain_amount: int | None
    books_amount: int | None
    difference: int
    detail: str | None

    def age_bucket(self, as_of: dt.date) -> str:
        return age_bucket(self.first_seen, as_of)


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    bank: str
    break_id: str
    at: str
    actor: str
    from_state: str | None
    to_state: str
    comment: str
    run_id: str | None


class BreakStore:
    """One sqlite file holding every bank's breaks; open per process, close when done."""

    def __init__(self, path: str | Path) -> None:
        # WAL: readers (the CLI listing breaks) never block a run; NORMAL sync is durable in WAL mode
        # against process crashes, which is what an append-only trail must survive
        self._db = open_db(path, SCHEMA, what="break store", error=BreakStoreError, synchronous="NORMAL")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> BreakStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sync_run(
        self,
        bank: str,
        observed: pl.DataFrame,
        *,
        as_of: dt.date,
        run_id: str,
        at: dt.datetime,
        auto_resolve: bool = True,
    ) -> pl.DataFrame:
        """Carry breaks over to this run (see module doc); returns PRESENT_SCHEMA for the observed breaks.

        `auto_resolve=False` (an incomplete run: rejected rows, lagging index) leaves unseen breaks as they
        are, since their rows may simply not have been read.
        """
        as_of_text = as_of.isoformat()
        stamp = at.isoformat()
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            existing = {
                bid: (state, assignee, first_seen)
                for bid, state, assignee, first_seen in cur.execute(
                    "SELECT break_id, state, assignee, first_seen FROM breaks WHERE bank = ?", (bank,)
                )
            }
            new_rows, reopen, carry, events = [], [], [], []
            present: dict[str, tuple[str, str | None, str]] = {}
            observed_rows = observed.select(
                "break_id",
                "break_type",
                "kind",
                "key",
                "chain_amount",
                "books_amount",
                "difference",
                "detail",
            ).iter_rows()
            for bid, btype, kind, key, chain_amount, books_amount, difference, detail in observed_rows:
                known = existing.get(bid)
                values = (chain_amount, books_amount, difference, detail)
                if known is None:
                    new_rows.append((bank, bid, btype, kind, key, BreakState.OPEN.value, as_of_text, as_of_text, *values))
                    events.append(
                        (
                            bank,
                            bid,
                            stamp,
                            SYSTEM_ACTOR,
                            None,
                            BreakState.OPEN.value,
                            f"first seen in run {run_id}",
                            run_id,
                        )
                    )
                    present[bid] = (BreakState.OPEN.value, None, as_of_text)
                elif known[0] == BreakState.RESOLVED:
                    reopen.append((as_of_text, as_of_text, *values, bank, bid))
                    events.append(
                        (
                            bank,
                            bid,
                            stamp,
                            SYSTEM_ACTOR,
                            BreakState.RESOLVED.value,
                            BreakState.OPEN.value,
                            f"reappeared in run {run_id}",
                            run_id,
                        )
                    )
                    present[bid] = (BreakState.OPEN.value, None, as_of_text)
                else:
                    carry.append((as_of_text, *values, bank, bid))
                    present[bid] = (known[0], known[1], known[2])
            gone = [
                bid
                for bid, (state, _, _) in existing.items()
                if auto_resolve and state != BreakState.RESOLVED and bid not in present
            ]
            for bid in gone:
                events.append(
                    (
                        bank,
                        bid,
                        stamp,
                        SYSTEM_ACTOR,
                        existing[bid][0],
                        BreakState.RESOLVED.value,
                        f"auto-resolved: no longer present in run {run_id}",
                        run_id,
                    )
                )
            cur.executemany(
                "INSERT INTO breaks (bank, break_id, break_type, kind, key, state, first_seen, last_seen,"
                " chain_amount, books_amount, difference, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                new_rows,
            )
            cur.executemany(
                "UPDATE breaks SET state = 'OPEN', assignee = NULL, first_seen = ?, last_seen = ?,"
                " chain_amount = ?, books_amount = ?, difference = ?, detail = ?"
                " WHERE bank = ? AND break_id = ?",
                reopen,
            )
            cur.executemany(
                "UPDATE breaks SET last_seen = ?, chain_amount = ?, books_amount = ?, difference = ?,"
                " detail = ?"
                " WHERE bank = ? AND break_id = ?",
                carry,
            )
            cur.executemany(
                "UPDATE breaks SET state = 'RESOLVED' WHERE bank = ? AND break_id = ?",
                [(bank, bid) for bid in gone],
            )
            self._append_events(cur, events)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        ids = list(present)
        first_seen = [dt.date.fromisoformat(present[b][2]) for b in ids]
        return pl.DataFrame(
            {
                "break_id": ids,
                "state": [present[b][0] for b in ids],
                "assignee": [present[b][1] for b in ids],
                "first_seen": first_seen,
                "age_days": [age_days(d, as_of) for d in first_seen],
                "age_bucket": [age_bucket(d, as_of) for d in first_seen],
            },
            schema=PRESENT_SCHEMA,
        )

    @staticmethod
    def _append_events(cur: sqlite3.Cursor, events: list[tuple[object, ...]]) -> None:
        cur.executemany(
            "INSERT INTO break_events (bank, break_id, at, actor, from_state, to_state, comment, run_id)"
            " VALUES (?,?,?,?,?,?,?,?)",
            events,
        )

    def get(self, bank: str, break_id: str) -> BreakRecord:
        row = self._db.execute(
            f"SELECT {BREAK_COLUMNS} FROM breaks WHERE bank = ? AND break_id = ?",
            (bank, break_id),
        ).fetchone()
        if row is None:
            raise UnknownBreak(f"no break {break_id!r} for bank {bank}", data=break_id)
        return _break_record(row)

    def list_breaks(self, bank: str, states: tuple[BreakState, ...] | None = None) -> list[BreakRecord]:
        rows = self._db.execute(
            f"SELECT {BREAK_COLUMNS} FROM breaks WHERE bank = ? ORDER BY break_id",
            (bank,),
        ).fetchall()
        found = [_break_record(r) for r in rows]
        return found if states is None else [b for b in found if b.state in states]

    def page(
        self,
        bank: str,
        *,
        states: tuple[BreakState, ...] | None = None,
        types: tuple[str, ...] | None = None,
        assignee: str | None = None,
        first_seen_between: tuple[dt.date | None, dt.date | None] = (None, None),
        after: str | None = None,
        limit: int = 50,
    ) -> list[BreakRecord]:
        """One page of a bank's breaks in break_id order (cursor: the last break_id seen), filtered in SQL;
        `first_seen_between` bounds the first-seen date (inclusive, None: open), which is how ages filter."""
        sql = f"SELECT {BREAK_COLUMNS} FROM breaks WHERE bank = ?"
        params: list[object] = [bank]
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            params.extend(s.value for s in states)
        if types:
            sql += f" AND break_type IN ({','.join('?' * len(types))})"
            params.extend(types)
        if assignee is not None:
            sql += " AND assignee = ?"
            params.append(assignee)
        earliest, latest = first_seen_between
        if earliest is not None:
            sql += " AND first_seen >= ?"
            params.append(earliest.isoformat())
        if latest is not None:
            sql += " AND first_seen <= ?"
            params.append(latest.isoformat())
        if after is not None:
            sql += " AND break_id > ?"
            params.append(after)
        sql += " ORDER BY break_id LIMIT ?"
        params.append(limit)
        return [_break_record(r) for r in self._db.execute(sql, params).fetchall()]

    def counts(self, bank: str | None = None) -> list[tuple[str, str, str, str]]:
        """(bank, break_type, state, first_seen) of every unresolved break: what the open-breaks gauges need."""
        sql = "SELECT bank, break_type, state, first_seen FROM breaks WHERE state != 'RESOLVED'"
        params: tuple[object, ...] = ()
        if bank is not None:
            sql += " AND bank = ?"
            params = (bank,)
        return list(self._db.execute(sql, params).fetchall())

    def comment(self, bank: str, break_id: str, *, actor: str, at: dt.datetime, comment: str) -> None:
        """A note on the trail without a state change (from_state = to_state)."""
        if not actor.strip() or not comment.strip():
            raise IllegalTransition("a comment needs an actor and text")
        if actor == SYSTEM_ACTOR:
            raise IllegalTransition(f"actor {SYSTEM_ACTOR!r} is reserved for automatic transitions")
        current = self.get(bank, break_id)
        state = current.state.value
        self._append_events(self._db.cursor(), [(bank, break_id, at.isoformat(), actor, state, state, comment, None)])

    def assign(self, bank: str, break_id: str, *, assignee: str, actor: str, at: dt.datetime, comment: str) -> None:
        """OPEN or ASSIGNED -> ASSIGNED to `assignee`."""
        self._transition(
            bank,
            break_id,
            allowed=(BreakState.OPEN, BreakState.ASSIGNED),
            to=BreakState.ASSIGNED,
            assignee=assignee,
            actor=actor,
            at=at,
            comment=comment,
        )

    def resolve(self, bank: str, break_id: str, *, actor: str, at: dt.datetime, comment: str) -> None:
        """ASSIGNED -> RESOLVED; an OPEN break must be assigned first, so someone owns the resolution."""
        self._transition(
            bank,
            break_id,
            allowed=(BreakState.ASSIGNED,),
            to=BreakState.RESOLVED,
            assignee=None,
            actor=actor,
            at=at,
            comment=comment,
        )

    def _transition(
        self,
        bank: str,
        break_id: str,
        *,
        allowed: tuple[BreakState, ...],
        to: BreakState,
        assignee: str | None,
        actor: str,
        at: dt.datetime,
        comment: str,
    ) -> None:
        if not actor.strip() or not comment.strip():
            raise IllegalTransition("a manual transition needs an actor and a comment")
        if actor == SYSTEM_ACTOR:
            raise IllegalTransition(f"actor {SYSTEM_ACTOR!r} is reserved for automatic transitions")
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            current = self.get(bank, break_id)
            if current.state not in allowed:
                raise IllegalTransition(
                    f"break {break_id} is {current.state}; {to} needs one of {[s.value for s in allowed]}",
                    data={"from": current.state.value, "to": to.value},
                )
            new_assignee = assignee if to is BreakState.ASSIGNED else current.assignee
            cur.execute(
                "UPDATE breaks SET state = ?, assignee = ? WHERE bank = ? AND break_id = ?",
                (to.value, new_assignee, bank, break_id),
            )
            note = comment if assignee is None else f"assigned to {assignee}: {comment}"
            self._append_events(cur, [(bank, break_id, at.isoformat(), actor, current.state.value, to.value, note, None)])
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def history(self, bank: str, break_id: str) -> list[AuditEvent]:
        rows = self._db.execute(
            "SELECT seq, bank, break_id, at, actor, from_state, to_state, comment, run_id FROM break_events"
            " WHERE bank = ? AND break_id = ? ORDER BY seq",
            (bank, break_id),
        ).fetchall()
        return [AuditEvent(*row) for row in rows]


def _break_record(row: tuple[object, ...]) -> BreakRecord:
    values = list(row)
    values[5] = BreakState(values[5])
    values[7] = dt.date.fromisoformat(str(values[7]))
    values[8] = dt.date.fromisoformat(str(values[8]))
    return BreakRecord(*values)  # type: ignore[arg-type]
