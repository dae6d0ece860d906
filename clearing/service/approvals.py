"""Four eyes on payment references: officer A proposes, a different officer B approves, only then is the
reference sent on chain. Proposals and decisions are kept in sqlite (each state change is one row update
guarded by the expected current state, so two approvers racing cannot both send).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from clearing.errors import Conflict, FourEyes, NotFound, ServiceError
from clearing.sqlite_db import newest_first, open_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS proposals (
    proposal_id INTEGER PRIMARY KEY AUTOINCREMENT, bank TEXT NOT NULL, cycle_id INTEGER NOT NULL,
    idx INTEGER NOT NULL, payment_ref TEXT NOT NULL, proposed_by TEXT NOT NULL, proposed_at TEXT NOT NULL,
    state TEXT NOT NULL, decided_by TEXT, decided_at TEXT, tx_hash TEXT, failure TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_live_proposal ON proposals (bank, cycle_id, idx)
    WHERE state IN ('PENDING', 'SENDING', 'SENT');
"""


class ProposalState(StrEnum):
    PENDING = "PENDING"  # entered, waiting for a second officer
    SENDING = "SENDING"  # approved, the transaction is on its way
    SENT = "SENT"  # on chain
    FAILED = "FAILED"  # the node refused it; a new proposal may be entered
    REJECTED = "REJECTED"  # the second officer turned it down


@dataclass(frozen=True)
class Proposal:
    proposal_id: int
    bank: str
    cycle_id: int
    index: int
    payment_ref: str
    proposed_by: str
    proposed_at: str
    state: ProposalState
    decided_by: str | None
    decided_at: str | None
    tx_hash: str | None
    failure: str | None


COLUMNS = (
    "proposal_id, bank, cycle_id, idx, payment_ref, proposed_by, proposed_at, state, decided_by, decided_at, tx_hash, failure"
)


class ApprovalStore:
    def __init__(self, path: str | Path) -> None:
        # FULL: an approval acknowledged to an officer survives a crash
        self._db = open_db(path, SCHEMA, what="approvals store", error=ServiceError, synchronous="FULL")

    def close(self) -> None:
        self._db.close()

    def propose(self, *, bank: str, cycle_id: int, index: int, payment_ref: str, by: str, at: dt.datetime) -> Proposal:
        try:
            cur = self._db.execute(
                "INSERT INTO proposals (bank, cycle_id, idx, payment_ref, proposed_by, proposed_at, state)"
                " VALUES (?,?,?,?,?,?,'PENDING')",
                (bank, cycle_id, index, payment_ref, by, at.isoformat()),
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"instruction {cycle_id}/{index} already has a payment reference pending or sent") from exc
        return self.get(bank, int(cur.lastrowid or 0))

    def get(self, bank: str | None, proposal_id: int) -> Proposal:
        row = self._db.execute(f"SELECT {COLUMNS} FROM proposals WHERE proposal_id = ?", (proposal_id,)).fetchone()
        if row is None or (bank is not None and row[1] != bank):
            raise NotFound(f"no payment proposal {proposal_id}")
        return _proposal(row)

    def page(self, *, bank: str | None, after: int | None, limit: int, state: ProposalState | None = None) -> list[Proposal]:
        rows = newest_first(self._db, f"SELECT {COLUMNS} FROM proposals", "proposal_id",
                            [("bank = ?", bank), ("state = ?", None if state is None else str(state))],
                            after=after, limit=limit)
        return [_proposal(row) for row in rows]

    def start_sending(self, bank: str, proposal_id: int, *, by: str, at: dt.datetime) -> Proposal:
        """PENDING -> SENDING by a second officer; the proposer approving their own entry is refused."""
        proposal = self.get(bank, proposal_id)
        if proposal.proposed_by == by:
            raise FourEyes(f"proposal {proposal_id} was entered by {by}; a different officer must approve it")
        self._move(proposal_id, ProposalState.PENDING, ProposalState.SENDING, by=by, at=at)
        return self.get(bank, proposal_id)

    def reject(self, bank: str, proposal_id: int, *, by: str, at: dt.datetime) -> Proposal:
        self._move(proposal_id, ProposalState.PENDING, ProposalState.REJECTED, by=by, at=at)
        return self.get(bank, proposal_id)

    def finish(self, proposal_id: int, *, tx_hash: str | None, failure: str | None) -> None:
        state = ProposalState.SENT if failure is None else ProposalState.FAILED
        self._db.execute(
            "UPDATE proposals SET state = ?, tx_hash = ?, failure = ? WHERE proposal_id = ? AND state = 'SENDING'",
            (state.value, tx_hash, failure, proposal_id),
        )

    def recover(self, on_chain: Callable[[int, int], str | None]) -> int:
        """After a restart: a proposal left SENDING by the dead process is SENT if the chain (as indexed)
        carries its reference, else FAILED (the officers look and may enter it again; the contract refuses
        a second reference for one instruction, so nothing can be paid twice). Returns how many moved."""
        moved = 0
        for proposal in self.page(bank=None, after=None, limit=1_000_000, state=ProposalState.SENDING):
            recorded = on_chain(proposal.cycle_id, proposal.index)
            if recorded == proposal.payment_ref:
                self.finish(proposal.proposal_id, tx_hash=None, failure=None)
            else:
                self.finish(proposal.proposal_id, tx_hash=None, failure="interrupted: the service stopped while sending")
            moved += 1
        return moved

    def _move(self, proposal_id: int, frm: ProposalState, to: ProposalState, *, by: str, at: dt.datetime) -> None:
        cur = self._db.execute(
            "UPDATE proposals SET state = ?, decided_by = ?, decided_at = ? WHERE proposal_id = ? AND state = ?",
            (to.value, by, at.isoformat(), proposal_id, frm.value),
        )
        if cur.rowcount != 1:
            raise Conflict(f"proposal {proposal_id} is no longer {frm.value}")


def _proposal(row: tuple[object, ...]) -> Proposal:
    values = list(row)
    values[7] = ProposalState(str(values[7]))
    return Proposal(*values)  # type: ignore[arg-type]
