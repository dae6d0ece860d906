"""The normalized record: one shape for the chain's view and a bank's books, so recon compares like with like.

Conventions (the event decoder and every books adapter produce exactly this):
- `bank` is the bank whose view the record is; `counterparty` the other bank, if any.
- Ids on chain are bytes32. In records they are text: a bytes32 holding printable ASCII right-padded with
  zero bytes (bank ids like "WEBANK", loan refs like "LN-2026-0001") becomes that text; any other bytes32
  (e.g. a keccak hash) becomes "0x" + 64 lower-case hex digits. `id_text`/`id_bytes` convert both ways.
- `amount` is int fen. LOAN_TRANCHE (outstanding principal of `bank`'s tranche), DRAWDOWN_ALLOCATION and
  REPAYMENT_ALLOCATION amounts are >= 0. CLEARING_ENTRY and CYCLE_POSITION are signed from `bank`'s side:
  positive = `bank` receives, negative = `bank` pays.
- `key` is the stable business key, unique per (bank, kind):
  LOAN_TRANCHE "<loan>/<bank>", DRAWDOWN_ALLOCATION "<drawdown>/<bank>",
  REPAYMENT_ALLOCATION "<repayment>/<bank>/<PRINCIPAL|INTEREST|PENALTY>" (one record per component),
  CLEARING_ENTRY "<entry id>", CYCLE_POSITION "<cycle>/<bank>",
  DECLARED_FIGURE "TIER1_NET_CAPITAL" | "TOTAL_LOANS" (amount >= 0, value_date = the figure's as-of date;
  only the latest declaration is kept, since a later version of a uid replaces the earlier one).
- `reference` groups records that settle together (1:N, N:1), e.g. a payment reference or batch id.
- Empty text is not a value: optional text fields are None, never "".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from enum import StrEnum

import polars as pl

from clearing.errors import InvalidRecord
from contracts.errors import BadArguments
from contracts.ids import id_text as contract_id_text

BYTES32 = 32
FORBIDDEN_TEXT_CHARS = frozenset("\t\n\r\x00")


class RecordKind(StrEnum):
    LOAN_TRANCHE = "LOAN_TRANCHE"
    DRAWDOWN_ALLOCATION = "DRAWDOWN_ALLOCATION"
    REPAYMENT_ALLOCATION = "REPAYMENT_ALLOCATION"
    CLEARING_ENTRY = "CLEARING_ENTRY"
    CYCLE_POSITION = "CYCLE_POSITION"
    DECLARED_FIGURE = "DECLARED_FIGURE"


SIGNED_KINDS = frozenset({RecordKind.CLEARING_ENTRY, RecordKind.CYCLE_POSITION})
REPAYMENT_COMPONENTS = ("PRINCIPAL", "INTEREST", "PENALTY")
# Kinds a bank's books also carry, so reconciliation compares them; DECLARED_FIGURE is the bank's own
# regulatory declaration on chain, read by clearing.policy, and has no counterpart row in the books.
LEDGER_KINDS = frozenset(RecordKind) - {RecordKind.DECLARED_FIGURE}
TIER1_NET_CAPITAL = "TIER1_NET_CAPITAL"
TOTAL_LOANS = "TOTAL_LOANS"
FIGURE_KEYS = (TIER1_NET_CAPITAL, TOTAL_LOANS)


@dataclass(frozen=True, slots=True)
class Record:
    """One normalized fact; `validate()` enforces the conventions in the module docstring."""

    kind: RecordKind
    key: str
    bank: str
    amount: int
    currency: str
    value_date: dt.date
    status: str | None = None
    counterparty: str | None = None
    loan_id: str | None = None
    cycle_id: str | None = None
    reference: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not isinstance(self.kind, RecordKind):
            try:
                object.__setattr__(self, "kind", RecordKind(self.kind))
            except ValueError as exc:
                raise InvalidRecord(f"unknown record kind {self.kind!r}") from exc
        if type(self.amount) is not int:
            raise InvalidRecord(f"amount must be int fen, got {type(self.amount).__name__}", data=self.key)
        if self.amount < 0 and self.kind not in SIGNED_KINDS:
            raise InvalidRecord(f"{self.kind} amount must be >= 0", data=self.key)
        if not isinstance(self.value_date, dt.date) or isinstance(self.value_date, dt.datetime):
            raise InvalidRecord("value_date must be a date", data=self.key)
        for name in TEXT_FIELDS:
            value = getattr(self, name)
            if value is None:
                if name in REQUIRED_TEXT_FIELDS:
                    raise InvalidRecord(f"{name} is required", data=self.key)
                continue
            if not isinstance(value, str) or value == "" or FORBIDDEN_TEXT_CHARS.intersection(value):
                raise InvalidRecord(f"{name} must be non-empty text without tabs, newlines or NUL", data=value)

    @property
    def uid(self) -> tuple[str, str, str]:
        """Identity of the fact: a later version with the same uid replaces the earlier one."""
        return (self.bank, self.kind.value, self.key)

    def as_row(self) -> tuple[object, ...]:
        """Values in RECORD_COLUMNS order, kind as plain text."""
        return tuple(self.kind.value if name == "kind" else getattr(self, name) for name in RECORD_COLUMNS)


TEXT_FIELDS = ("key", "bank", "currency", "status", "counterparty", "loan_id", "cycle_id", "reference")
REQUIRED_TEXT_FIELDS = frozenset({"key", "bank", "currency"})
RECORD_COLUMNS: tuple[str, ...] = (
    "kind",
    "key",
    "bank",
    "counterparty",
    "loan_id",
    "cycle_id",
    "amount",
    "currency",
    "value_date",
    "status",
    "reference",
)
RECORD_SCHEMA: dict[str, pl.DataType] = {
    name: (pl.Int64() if name == "amount" else pl.Date() if name == "value_date" else pl.Utf8()) for name in RECORD_COLUMNS
}
assert {f.name for f in fields(Record)} == set(RECORD_COLUMNS)


def records_to_frame(records: Iterable[Record]) -> pl.DataFrame:
    """A polars frame with RECORD_SCHEMA; the engine works on frames, never on Python objects per row."""
    rows = [r.as_row() for r in records]
    return pl.DataFrame(rows, schema=list(RECORD_SCHEMA.items()), orient="row")


def frame_to_records(frame: pl.DataFrame) -> Iterator[Record]:
    """Back from a RECORD_SCHEMA frame (extra columns ignored) to validated records."""
    for row in frame.select(RECORD_COLUMNS).iter_rows(named=True):
        yield Record(**row)


def empty_record_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=RECORD_SCHEMA)


def id_text(raw: bytes) -> str:
    """bytes32 id -> record text (contracts.ids.id_text, the one rule for the chain and the index)."""
    try:
        return contract_id_text(raw)
    except BadArguments as exc:
        raise InvalidRecord(exc.message) from exc


def id_bytes(text: str) -> bytes:
    """Record text -> bytes32, the inverse of `id_text`."""
    if text.startswith("0x") and len(text) == 2 + 2 * BYTES32:
        return bytes.fromhex(text[2:])
    raw = text.encode("ascii")
    if len(raw) > BYTES32:
        raise InvalidRecord(f"text id longer than {BYTES32} bytes: {text!r}")
    return raw.ljust(BYTES32, b"\x00")


def tranche_key(loan_id: str, bank: str) -> str:
    return f"{loan_id}/{bank}"


def allocation_key(event_id: str, bank: str, component: str | None = None) -> str:
    """Key of a drawdown allocation (no component) or of one repayment component."""
    if component is None:
        return f"{event_id}/{bank}"
    if component not in REPAYMENT_COMPONENTS:
        raise InvalidRecord(f"unknown repayment component {component!r}")
    return f"{event_id}/{bank}/{component}"


def position_key(cycle_id: str, bank: str) -> str:
    return f"{cycle_id}/{bank}"


def clearing_entry_views(
    entry_id: str,
    *,
    payer: str,
    payee: str,
    amount: int,
    currency: str,
    value_date: dt.date,
    status: str | None = None,
    cycle_id: str | None = None,
    loan_id: str | None = None,
    reference: str | None = None,
) -> tuple[Record, Record]:
    """One on-chain clearing entry as each party sees it: the payer's record is -amount, the payee's +amount."""
    if amount <= 0:
        raise InvalidRecord(f"a clearing entry moves a positive amount, got {amount}", data=entry_id)
    common = {
        "kind": RecordKind.CLEARING_ENTRY,
        "key": entry_id,
        "currency": currency,
        "value_date": value_date,
        "status": status,
        "cycle_id": cycle_id,
        "loan_id": loan_id,
        "reference": reference,
    }
    return (
        Record(bank=payer, counterparty=payee, amount=-amount, **common),  # type: ignore[arg-type]
        Record(bank=payee, counterparty=payer, amount=amount, **common),
    )  # type: ignore[arg-type]
