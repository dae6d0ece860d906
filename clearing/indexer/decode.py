"""Suite events -> normalized records, one block at a time.

Each event carries what its records need except two things taken from earlier events: the loan's currency
(from LoanRegistered) and an operation's value date (from the DrawdownPosted / RepaymentPosted /
WriteOffPosted that precedes its per-tranche events in the same transaction). Status changes rewrite the
records they concern (a loan's tranches, a cycle's positions), found through the index's secondary keys.
Views: a tranche, allocation, position or declared figure belongs to its bank; a clearing entry yields one record for each
side, signed from that side (payer negative, payee positive).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from clearing.indexer.store import IndexStore
from clearing.records import (
    TIER1_NET_CAPITAL,
    TOTAL_LOANS,
    Record,
    RecordKind,
    allocation_key,
    clearing_entry_views,
    id_text,
    position_key,
    tranche_key,
)
from contracts.abi import DecodedEvent, SuiteCodec
from contracts.enums import CYCLE_STATUS, LOAN_STATUS
from contracts.errors import ContractsError

ENTRY_POSTED = "POSTED"
FIGURE_DECLARED = "DECLARED"
ZERO32 = b"\0" * 32
COMPONENTS = ("principal", "interest", "penalty")


@dataclass(frozen=True)
class ChainLog:
    """One log as a node returns it, with the block time it was sealed at."""

    block_number: int
    block_timestamp: int
    log_index: int
    address: str
    topics: Sequence[bytes]
    data: bytes


def yyyymmdd(value: int) -> dt.date:
    return dt.date(value // 10000, (value // 100) % 100, value % 100)


class BlockDecoder:
    """Builds the records one block implies; later versions of a record within the block replace earlier ones."""

    def __init__(self, codec: SuiteCodec, index: IndexStore, *, currency: str = "CNY", utc_offset_hours: int = 8) -> None:
        self.codec = codec
        self.index = index
        self.currency = currency
        self.utc_offset = dt.timedelta(hours=utc_offset_hours)
        self.skipped: list[tuple[int, int, str]] = []  # (block, log index, reason): logs we could not decode

    def block_records(self, logs: Iterable[ChainLog]) -> list[Record]:
        self._pending: dict[tuple[str, str, str], Record] = {}
        self._op_dates: dict[bytes, dt.date] = {}
        for log in sorted(logs, key=lambda entry: entry.log_index):
            try:
                event = self.codec.decode_log(log.address, log.topics, log.data)
            except ContractsError as err:
                self.skipped.append((log.block_number, log.log_index, err.message))
                continue
            handler = getattr(self, f"_on_{event.name}", None)
            if handler is not None:
                handler(event, log)
        return list(self._pending.values())

    # ------------------------------------------------------------------ helpers

    def _block_date(self, log: ChainLog) -> dt.date:
        return (dt.datetime.fromtimestamp(log.block_timestamp, dt.UTC) + self.utc_offset).date()

    def _put(self, record: Record) -> None:
        self._pending[record.uid] = record

    def _current(self, bank: str, kind: RecordKind, key: str) -> Record | None:
        return self._pending.get((bank, kind.value, key)) or self.index.get(bank, kind, key)

    def _loan_records(self, loan: str) -> list[Record]:
        found = {r.uid: r for r in self.index.find("loan", loan) if r.kind == RecordKind.LOAN_TRANCHE}
        found.update({uid: r for uid, r in self._pending.items() if r.kind == RecordKind.LOAN_TRANCHE and r.loan_id == loan})
        return [found[uid] for uid in sorted(found)]

    def _tranche(self, loan: str, bank: str) -> Record:
        record = self._current(bank, RecordKind.LOAN_TRANCHE, tranche_key(loan, bank))
        if record is None:
            raise LookupError(f"tranche {loan}/{bank} seen before its LoanRegistered")
        return record

    # ------------------------------------------------------------------ CoLending

    def _on_LoanRegistered(self, event: DecodedEvent, log: ChainLog) -> None:
        a = event.args
        loan, servicer = id_text(a["loanId"]), id_text(a["servicer"])
        currency = a["currency"].rstrip(b"\0").decode("ascii", "replace") or self.currency
        for raw_bank in a["banks"]:
            bank = id_text(raw_bank)
            self._put(Record(
                kind=RecordKind.LOAN_TRANCHE, key=tranche_key(loan, bank), bank=bank, amount=0, currency=currency,
                value_date=self._block_date(log), status="REGISTERED", loan_id=loan,
                counterparty=None if bank == servicer else servicer,
            ))  # fmt: skip

    def _on_DrawdownPosted(self, event: DecodedEvent, log: ChainLog) -> None:
        self._op_dates[event.args["drawdownId"]] = yyyymmdd(event.args["valueDate"])

    def _on_RepaymentPosted(self, event: DecodedEvent, log: ChainLog) -> None:
        self._op_dates[event.args["repaymentId"]] = yyyymmdd(event.args["valueDate"])

    def _on_WriteOffPosted(self, event: DecodedEvent, log: ChainLog) -> None:
        self._op_dates[event.args["opId"]] = yyyymmdd(event.args["valueDate"])

    def _on_TrancheFunded(self, event: DecodedEvent, log: ChainLog) -> None:
        a = event.args
        loan, bank, op = id_text(a["loanId"]), id_text(a["bank"]), a["drawdownId"]
        tranche = self._tranche(loan, bank)
        value_date = self._op_dates.get(op, self._block_date(log))
        self._put(Record(
            kind=RecordKind.DRAWDOWN_ALLOCATION, key=allocation_key(id_text(op), bank), bank=bank, amount=a["amount"],
            currency=tranche.currency, value_date=value_date, loan_id=loan, counterparty=tranche.counterparty,
            reference=id_text(op),
        ))  # fmt: skip
        self._put(replace(tranche, amount=a["outstanding"], value_date=value_date))

    def _on_RepaymentAllocated(self, event: DecodedEvent, log: ChainLog) -> None:
        a = event.args
        loan, bank, op = id_text(a["loanId"]), id_text(a["bank"]), a["repaymentId"]
        tranche = self._tranche(loan, bank)
        value_date = self._op_dates.get(op, self._block_date(log))
        for component in COMPONENTS:
            if a[component] == 0:
                continue  # a zero share of a component is no movement, and books carry no row for it
            self._put(Record(
                kind=RecordKind.REPAYMENT_ALLOCATION, key=allocation_key(id_text(op), bank, component.upper()), bank=bank,
                amount=a[component], currency=tranche.currency, value_date=value_date, loan_id=loan,
                counterparty=tranche.counterparty, reference=id_text(op),
            ))  # fmt: skip
        self._put(replace(tranche, amount=a["outstanding"], value_date=value_date))

    def _on_TrancheWrittenOff(self, event: DecodedEvent, log: ChainLog) -> None:
        a = event.args
        loan, bank = id_text(a["loanId"]), id_text(a["bank"])
        value_date = self._op_dates.get(a["opId"], self._block_date(log))
        self._put(replace(self._tranche(loan, bank), amount=a["outstanding"], value_date=value_date))

    def _on_LoanStatusChanged(self, event: DecodedEvent, log: ChainLog) -> None:
        status = LOAN_STATUS.get(event.args["status"], str(event.args["status"]))
        for record in self._loan_records(id_text(event.args["loanId"])):
            self._put(replace(record, status=status))

    def _on_FiguresDeclared(self, event: DecodedEvent, log: ChainLog) -> None:
        """A bank's declaration: one record per figure, dated as of the declaration, replacing the last one."""
        a = event.args
        bank, as_of = id_text(a["bank"]), yyyymmdd(a["asOf"])
        for key, amount in ((TIER1_NET_CAPITAL, a["tier1NetCapital"]), (TOTAL_LOANS, a["totalLoans"])):
            self._put(Record(
                kind=RecordKind.DECLARED_FIGURE, key=key, bank=bank, amount=amount, currency=self.currency,
                value_date=as_of, status=FIGURE_DECLARED,
            ))  # fmt: skip

    # ------------------------------------------------------------------ Clearing

    def _on_EntryPosted(self, event: DecodedEvent, log: ChainLog) -> None:
        a = event.args
        payer, payee = id_text(a["payer"]), id_text(a["payee"])
        loan = id_text(a["loanId"]) if a["loanId"] != ZERO32 else None
        currency = self.currency
        if loan is not None:
            tranche = self._current(payer, RecordKind.LOAN_TRANCHE, tranche_key(loan, payer))
            currency = tranche.currency if tranche is not None else currency
        for view in clearing_entry_views(
            id_text(a["entryId"]), payer=payer, payee=payee, amount=a["amount"], currency=currency,
            value_date=yyyymmdd(a["valueDate"]), status=ENTRY_POSTED, cycle_id=str(a["cycleId"]), loan_id=loan,
            reference=id_text(a["ref"]) if a["ref"] != ZERO32 else None,
        ):  # fmt: skip
            self._put(view)

    def _on_NetPosition(self, event: DecodedEvent, log: ChainLog) -> None:
        a = event.args
        cycle, bank = str(a["cycleId"]), id_text(a["bankId"])
        self._put(Record(
            kind=RecordKind.CYCLE_POSITION, key=position_key(cycle, bank), bank=bank, amount=a["position"],
            currency=self.currency, value_date=self._block_date(log), status="NETTED", cycle_id=cycle,
        ))  # fmt: skip

    def _on_CycleStatusChanged(self, event: DecodedEvent, log: ChainLog) -> None:
        cycle = str(event.args["cycleId"])
        status = CYCLE_STATUS.get(event.args["status"], str(event.args["status"]))
        positions = {r.uid: r for r in self.index.find("cycle", cycle) if r.kind == RecordKind.CYCLE_POSITION}
        positions.update({u: r for u, r in self._pending.items() if r.kind == RecordKind.CYCLE_POSITION and r.cycle_id == cycle})
        for uid in sorted(positions):
            self._put(replace(positions[uid], status=status))
