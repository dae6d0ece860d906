"""The settlement view: every clearing cycle's status, net positions, instructions, confirmations and
payments, projected from the Clearing contract's events into sqlite (an EventSink of the chain follower).

The LevelDB index holds what reconciliation compares (records per bank); what officers ask about a cycle
(who confirmed, which instruction is paid, which acknowledged) lives here. Each block is applied in one
transaction together with the cursor, so a crash resumes exactly and re-applying a block is a no-op.
Reads are small indexed queries, cheap enough to answer on the event loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clearing.errors import SettlementStoreError
from clearing.records import id_text
from clearing.sqlite_db import newest_first, open_db
from contracts.abi import DecodedEvent
from contracts.enums import CYCLE_STATUS

ZERO32 = b"\0" * 32
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cycles (
    cycle_id INTEGER PRIMARY KEY, status TEXT NOT NULL, entry_count INTEGER NOT NULL DEFAULT 0,
    gross_fen INTEGER NOT NULL DEFAULT 0, opened_block INTEGER, closed_block INTEGER, netted_block INTEGER,
    settled_block INTEGER, disputed_by TEXT
);
CREATE TABLE IF NOT EXISTS parties (cycle_id INTEGER NOT NULL, bank TEXT NOT NULL, PRIMARY KEY (cycle_id, bank));
CREATE INDEX IF NOT EXISTS parties_by_bank ON parties (bank, cycle_id);
CREATE TABLE IF NOT EXISTS positions (
    cycle_id INTEGER NOT NULL, bank TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (cycle_id, bank)
);
CREATE TABLE IF NOT EXISTS bilateral (
    cycle_id INTEGER NOT NULL, payer TEXT NOT NULL, payee TEXT NOT NULL, amount INTEGER NOT NULL,
    PRIMARY KEY (cycle_id, payer, payee)
);
CREATE TABLE IF NOT EXISTS instructions (
    cycle_id INTEGER NOT NULL, idx INTEGER NOT NULL, payer TEXT NOT NULL, payee TEXT NOT NULL,
    amount INTEGER NOT NULL, payment_ref TEXT, paid_block INTEGER, acknowledged_block INTEGER,
    PRIMARY KEY (cycle_id, idx)
);
CREATE TABLE IF NOT EXISTS confirmations (
    cycle_id INTEGER NOT NULL, bank TEXT NOT NULL, block INTEGER NOT NULL, PRIMARY KEY (cycle_id, bank)
);
"""


@dataclass(frozen=True)
class Cycle:
    cycle_id: int
    status: str
    entry_count: int
    gross_fen: int
    opened_block: int | None
    closed_block: int | None
    netted_block: int | None
    settled_block: int | None
    disputed_by: str | None


@dataclass(frozen=True)
class Instruction:
    cycle_id: int
    index: int
    payer: str
    payee: str
    amount: int
    payment_ref: str | None
    paid_block: int | None
    acknowledged_block: int | None

    @property
    def state(self) -> str:
        if self.acknowledged_block is not None:
            return "ACKNOWLEDGED"
        return "PAID" if self.payment_ref is not None else "UNPAID"


@dataclass(frozen=True)
class PartyStatus:
    """Where one bank stands in a cycle: its net position, whether it confirmed, its payments both ways."""

    bank: str
    position: int | None
    confirmed: bool
    to_pay: int
    paid: int
    to_receive: int
    acknowledged: int


CYCLE_COLUMNS = "cycle_id, status, entry_count, gross_fen, opened_block, closed_block, netted_block, settled_block, disputed_by"


class SettlementStore:
    """One sqlite file; `apply_block` is called by the follower on the event loop, reads come from anywhere
    on the same thread."""

    def __init__(self, path: str | Path) -> None:
        self._db = open_db(path, SCHEMA, what="settlement store", error=SettlementStoreError, synchronous="NORMAL")
        self.version = 0  # moves whenever a block with events is applied: answers derived from the view cache on it

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ writing (EventSink)

    def last_block(self) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = 'last_block'").fetchone()
        return None if row is None else int(row[0])

    def apply_block(self, number: int, events: Sequence[DecodedEvent]) -> bool:
        last = self.last_block()
        if last is not None and number <= last:
            return False
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for event in events:
                handler = getattr(self, f"_on_{event.name}", None)
                if handler is not None:
                    handler(cur, event.args, number)
            cur.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('last_block', ?)", (number,))
            cur.execute("COMMIT")
            if events:
                self.version += 1
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return True

    @staticmethod
    def _cycle(cur: sqlite3.Cursor, cycle_id: int) -> None:
        cur.execute("INSERT OR IGNORE INTO cycles (cycle_id, status) VALUES (?, 'OPEN')", (cycle_id,))

    def _on_CycleOpened(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        self._cycle(cur, a["cycleId"])
        cur.execute("UPDATE cycles SET opened_block = ? WHERE cycle_id = ?", (block, a["cycleId"]))

    def _on_EntryPosted(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        cycle = a["cycleId"]
        self._cycle(cur, cycle)
        cur.execute(
            "UPDATE cycles SET entry_count = entry_count + 1, gross_fen = gross_fen + ? WHERE cycle_id = ?",
            (a["amount"], cycle),
        )
        cur.executemany(
            "INSERT OR IGNORE INTO parties (cycle_id, bank) VALUES (?, ?)",
            [(cycle, id_text(a["payer"])), (cycle, id_text(a["payee"]))],
        )

    def _on_CycleClosed(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        self._cycle(cur, a["cycleId"])
        cur.execute("UPDATE cycles SET closed_block = ? WHERE cycle_id = ?", (block, a["cycleId"]))

    def _on_NetPosition(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        cur.execute(
            "INSERT OR REPLACE INTO positions (cycle_id, bank, position) VALUES (?, ?, ?)",
            (a["cycleId"], id_text(a["bankId"]), a["position"]),
        )

    def _on_BilateralNet(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        cur.execute(
            "INSERT OR REPLACE INTO bilateral (cycle_id, payer, payee, amount) VALUES (?, ?, ?, ?)",
            (a["cycleId"], id_text(a["payer"]), id_text(a["payee"]), a["amount"]),
        )

    def _on_SettlementInstruction(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        cur.execute(
            "INSERT OR REPLACE INTO instructions (cycle_id, idx, payer, payee, amount) VALUES (?, ?, ?, ?, ?)",
            (a["cycleId"], a["index"], id_text(a["payer"]), id_text(a["payee"]), a["amount"]),
        )

    def _on_CycleNetted(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        cur.execute("UPDATE cycles SET netted_block = ? WHERE cycle_id = ?", (block, a["cycleId"]))

    def _on_CycleConfirmedBy(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        cur.execute(
            "INSERT OR REPLACE INTO confirmations (cycle_id, bank, block) VALUES (?, ?, ?)",
            (a["cycleId"], id_text(a["bankId"]), block),
        )

    def _on_CycleStatusChanged(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        status = CYCLE_STATUS.get(a["status"], str(a["status"]))
        self._cycle(cur, a["cycleId"])
        cur.execute("UPDATE cycles SET status = ? WHERE cycle_id = ?", (status, a["cycleId"]))
        if status == "SETTLED":
            cur.execute("UPDATE cycles SET settled_block = ? WHERE cycle_id = ?", (block, a["cycleId"]))

    def _on_PaymentRecorded(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        cur.execute(
            "UPDATE instructions SET payment_ref = ?, paid_block = ? WHERE cycle_id = ? AND idx = ?",
            (id_text(a["paymentRef"]), block, a["cycleId"], a["index"]),
        )

    def _on_PaymentAcknowledged(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        cur.execute(
            "UPDATE instructions SET acknowledged_block = ? WHERE cycle_id = ? AND idx = ?",
            (block, a["cycleId"], a["index"]),
        )

    def _on_CycleDisputed(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        cur.execute("UPDATE cycles SET disputed_by = ? WHERE cycle_id = ?", (id_text(a["bankId"]), a["cycleId"]))

    def _on_DisputeWithdrawn(self, cur: sqlite3.Cursor, a: dict, block: int) -> None:
        # every party confirms afresh after a withdrawn dispute, as the contract resets its confirmations
        cur.execute("UPDATE cycles SET disputed_by = NULL WHERE cycle_id = ?", (a["cycleId"],))
        cur.execute("DELETE FROM confirmations WHERE cycle_id = ?", (a["cycleId"],))

    # ------------------------------------------------------------------ reading

    def cycles(self, *, bank: str | None, after: int | None, limit: int, status: str | None = None) -> list[Cycle]:
        """Cycles newest first (cursor: the last cycle id seen); with `bank`, only cycles it is party to."""
        party = "EXISTS (SELECT 1 FROM parties p WHERE p.cycle_id = c.cycle_id AND p.bank = ?)"
        rows = newest_first(self._db, f"SELECT {CYCLE_COLUMNS} FROM cycles c", "cycle_id",
                            [(party, bank), ("status = ?", status)], after=after, limit=limit)
        return [Cycle(*row) for row in rows]

    def cycle(self, cycle_id: int, *, bank: str | None) -> Cycle | None:
        """The cycle, or None when it does not exist or `bank` is not a party to it (the same answer)."""
        row = self._db.execute(f"SELECT {CYCLE_COLUMNS} FROM cycles WHERE cycle_id = ?", (cycle_id,)).fetchone()
        if row is None or (bank is not None and not self.is_party(cycle_id, bank)):
            return None
        return Cycle(*row)

    def is_party(self, cycle_id: int, bank: str) -> bool:
        return self._db.execute("SELECT 1 FROM parties WHERE cycle_id = ? AND bank = ?", (cycle_id, bank)).fetchone() is not None

    def parties(self, cycle_id: int) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT bank FROM parties WHERE cycle_id = ? ORDER BY bank", (cycle_id,))]

    def positions(self, cycle_id: int) -> dict[str, int]:
        rows = self._db.execute("SELECT bank, position FROM positions WHERE cycle_id = ? ORDER BY bank", (cycle_id,))
        return {bank: position for bank, position in rows}

    def bilateral(self, cycle_id: int) -> list[tuple[str, str, int]]:
        sql = "SELECT payer, payee, amount FROM bilateral WHERE cycle_id = ? ORDER BY payer, payee"
        return list(self._db.execute(sql, (cycle_id,)))

    def instructions(self, cycle_id: int) -> list[Instruction]:
        rows = self._db.execute(
            "SELECT cycle_id, idx, payer, payee, amount, payment_ref, paid_block, acknowledged_block"
            " FROM instructions WHERE cycle_id = ? ORDER BY idx",
            (cycle_id,),
        )
        return [Instruction(*row) for row in rows]

    def instruction(self, cycle_id: int, index: int) -> Instruction | None:
        found = [i for i in self.instructions(cycle_id) if i.index == index]
        return found[0] if found else None

    def confirmations(self, cycle_id: int) -> dict[str, int]:
        rows = self._db.execute("SELECT bank, block FROM confirmations WHERE cycle_id = ? ORDER BY bank", (cycle_id,))
        return {bank: block for bank, block in rows}

    def party_status(self, cycle_id: int) -> list[PartyStatus]:
        """One row per party: what the settlement status board shows."""
        positions = self.positions(cycle_id)
        confirmed = self.confirmations(cycle_id)
        instructions = self.instructions(cycle_id)
        out = []
        for bank in self.parties(cycle_id):
            paying = [i for i in instructions if i.payer == bank]
            receiving = [i for i in instructions if i.payee == bank]
            out.append(
                PartyStatus(
                    bank=bank,
                    position=positions.get(bank),
                    confirmed=bank in confirmed,
                    to_pay=len(paying),
                    paid=sum(1 for i in paying if i.payment_ref is not None),
                    to_receive=len(receiving),
                    acknowledged=sum(1 for i in receiving if i.acknowledged_block is not None),
                )
            )
        return out
