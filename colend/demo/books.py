"""Each bank's own books for the demo: its core system's export, in its own format, with planted mistakes.

A bank's books hold its side of every fact (its tranches, its allocations, the clearing entries it pays or
receives, its net positions). Each bank exports them differently (column names, yuan or fen, date format,
delimiter, encoding, its own labels for record types) and reads them back through a column mapping. The
demo plants a few realistic mistakes per bank, different for each, and records exactly which break each
one must cause: reconciliation has to find those and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import polars as pl

from clearing.recon.breaks import BreakType, Side, break_id
from clearing.records import LEDGER_KINDS, RECORD_COLUMNS, RecordKind

# record field -> export column, in export order (currency is a mapping constant: every book is in CNY)
FIELDS = ("kind", "key", "amount", "value_date", "status", "counterparty", "loan_id", "cycle_id", "reference")


@dataclass(frozen=True)
class BooksFormat:
    """How one bank's core system writes its export."""

    columns: tuple[str, ...]  # one per FIELDS entry
    amount_unit: str  # "yuan" or "fen"
    date_format: str
    delimiter: str = ","
    encoding: str = "utf-8"
    kind_labels: tuple[tuple[str, str], ...] = ()  # record kind -> the bank's own label

    def mapping_toml(self) -> str:
        lines = ["[source]", f"encoding = {json.dumps(self.encoding)}", f"delimiter = {json.dumps(self.delimiter)}", "",
                 "[columns]"]  # fmt: skip
        lines += [f"{name} = {json.dumps(column, ensure_ascii=False)}" for name, column in zip(FIELDS, self.columns, strict=True)]
        lines += ["", "[constants]", 'currency = "CNY"', "", "[format]", f"date = {json.dumps(self.date_format)}",
                  f"amount_unit = {json.dumps(self.amount_unit)}"]  # fmt: skip
        if self.kind_labels:
            lines += ["", "[values.kind]"]
            lines += [f"{json.dumps(label, ensure_ascii=False)} = {json.dumps(kind)}" for kind, label in self.kind_labels]
        return "\n".join(lines) + "\n"


FORMATS: dict[str, BooksFormat] = {
    "WEBANK": BooksFormat(
        ("record_type", "business_key", "amount_cny", "value_date", "status", "counterparty", "loan_no", "cycle_no", "reference"),
        "yuan", "%Y-%m-%d",
    ),
    "MYBANK": BooksFormat(
        ("biz_type", "txn_id", "amt_fen", "val_dt", "state", "cpty_bank", "contract_no", "settle_cycle", "batch_ref"),
        "fen", "%Y%m%d", delimiter="|",
        kind_labels=(("LOAN_TRANCHE", "TRN"), ("DRAWDOWN_ALLOCATION", "DD"), ("REPAYMENT_ALLOCATION", "RP"),
                     ("CLEARING_ENTRY", "CLR"), ("CYCLE_POSITION", "NET")),
    ),
    "XWBANK": BooksFormat(
        ("Type", "Reference No", "Amount (CNY)", "Value Date", "Status", "Counterparty", "Loan", "Cycle", "Group Ref"),
        "yuan", "%d/%m/%Y", delimiter=";",
    ),
    "HRBANK": BooksFormat(
        ("业务类型", "业务编号", "金额(元)", "起息日", "状态", "对手行", "借据号", "清算批次", "参考号"),
        "yuan", "%Y/%m/%d", encoding="gb18030",
        kind_labels=(("LOAN_TRANCHE", "贷款份额"), ("DRAWDOWN_ALLOCATION", "放款分摊"), ("REPAYMENT_ALLOCATION", "还款分摊"),
                     ("CLEARING_ENTRY", "清算分录"), ("CYCLE_POSITION", "轧差头寸")),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class PlantedBreak:
    """One planted mistake and the break reconciliation must report for it."""

    mistake: str  # what happened, in a clearing officer's words
    break_type: BreakType
    kind: str
    key: str
    side: Side = Side.BOOKS

    @property
    def break_id(self) -> str:
        return break_id(self.break_type, self.kind, self.key, self.side if self.break_type is BreakType.DUPLICATE else None)


# ---------------------------------------------------------------------------------------------- mistakes


@dataclass
class Planting:
    """The books being spoiled: each mistake picks an untouched chain record, changes the books, says why."""

    chain: pl.DataFrame
    books: pl.DataFrame
    rng: random.Random
    bank: str
    as_of: dt.date
    used: set[str] = field(default_factory=set)

    def pick(self, kinds: tuple[RecordKind, ...], where: pl.Expr | None = None) -> dict | None:
        rows = self.chain.filter(pl.col("kind").is_in([k.value for k in kinds]) & ~pl.col("key").is_in(sorted(self.used)))
        if where is not None:
            rows = rows.filter(where)
        if rows.is_empty():
            return None
        return rows.sort("kind", "key").row(self.rng.randrange(rows.height), named=True)

    def change(self, row: dict, **changes: object) -> None:
        target = (pl.col("kind") == row["kind"]) & (pl.col("key") == row["key"])
        self.books = self.books.with_columns(
            pl.when(target).then(pl.lit(value, self.books.schema[name])).otherwise(pl.col(name)).alias(name)
            for name, value in changes.items()
        )


Mistake = Callable[[Planting], PlantedBreak | None]
ALLOCATIONS = (RecordKind.DRAWDOWN_ALLOCATION, RecordKind.REPAYMENT_ALLOCATION)
REPAYMENTS = (RecordKind.REPAYMENT_ALLOCATION,)
DRAWDOWNS = (RecordKind.DRAWDOWN_ALLOCATION,)
ENTRIES = (RecordKind.CLEARING_ENTRY,)


def missed_posting(p: Planting, kinds: tuple[RecordKind, ...]) -> PlantedBreak | None:
    row = p.pick(kinds)
    if row is None:
        return None
    p.books = p.books.filter(~((pl.col("kind") == row["kind"]) & (pl.col("key") == row["key"])))
    return PlantedBreak("a posting never booked", BreakType.MISSING_IN_BOOKS, row["kind"], row["key"])


def fee_at_another_amount(p: Planting) -> PlantedBreak | None:
    """The fee booked from an outdated invoice, a few yuan off (another entry if the bank has no fee today)."""
    row = p.pick(ENTRIES, pl.col("key").str.starts_with("FEE-")) or p.pick(ENTRIES)
    if row is None:
        return None
    off = p.rng.randrange(100, 2_000) * (1 if row["amount"] > 0 else -1)
    p.change(row, amount=row["amount"] + off)
    what = "a fee booked at another amount" if row["key"].startswith("FEE-") else "an entry booked at another amount"
    return PlantedBreak(what, BreakType.AMOUNT_MISMATCH, row["kind"], row["key"])


def value_date_a_day_late(p: Planting, kinds: tuple[RecordKind, ...]) -> PlantedBreak | None:
    row = p.pick(kinds)
    if row is None:
        return None
    p.change(row, value_date=row["value_date"] + dt.timedelta(days=1))
    return PlantedBreak("a value date a day late", BreakType.DATE_MISMATCH, row["kind"], row["key"])


def booked_twice(p: Planting, kinds: tuple[RecordKind, ...]) -> PlantedBreak | None:
    row = p.pick(kinds)
    if row is None:
        return None
    twice = p.books.filter((pl.col("kind") == row["kind"]) & (pl.col("key") == row["key"]))
    p.books = pl.concat([p.books, twice])
    return PlantedBreak("a posting booked twice", BreakType.DUPLICATE, row["kind"], row["key"])


def loan_status_out_of_date(p: Planting) -> PlantedBreak | None:
    """A loan closed today that the bank's loan system still shows as ACTIVE (else one it shows closed too early)."""
    row = p.pick((RecordKind.LOAN_TRANCHE,), pl.col("status").is_in(["PAID_OFF", "WRITTEN_OFF"]))
    if row is not None:
        p.change(row, status="ACTIVE")
        return PlantedBreak("a closed loan still active in the books", BreakType.STATUS_MISMATCH, row["kind"], row["key"])
    row = p.pick((RecordKind.LOAN_TRANCHE,), pl.col("status") == "ACTIVE")
    if row is None:
        return None
    p.change(row, status="PAID_OFF")
    return PlantedBreak("an active loan closed too early in the books", BreakType.STATUS_MISMATCH, row["kind"], row["key"])


def adjustment_never_posted(p: Planting) -> PlantedBreak | None:
    """A manual adjustment booked locally against a counterparty, never posted to the chain."""
    row = p.pick(ENTRIES)
    if row is None:
        return None
    key = f"ADJ-{p.as_of:%Y%m%d}-{p.bank}"
    extra = {**{c: row[c] for c in RECORD_COLUMNS}, "key": key, "reference": key, "loan_id": None, "status": "POSTED",
             "amount": -p.rng.randrange(1_000, 50_000), "value_date": p.as_of}  # fmt: skip
    p.books = pl.concat([p.books, pl.DataFrame([extra], schema=p.books.schema)])
    return PlantedBreak("an adjustment booked but never posted on chain", BreakType.MISSING_ON_CHAIN, row["kind"], key)


# the mistakes each bank makes today: different for each bank
RECIPES: dict[str, tuple[Mistake, ...]] = {
    "WEBANK": (partial(missed_posting, kinds=REPAYMENTS), partial(value_date_a_day_late, kinds=DRAWDOWNS),
               partial(booked_twice, kinds=ENTRIES)),
    "MYBANK": (fee_at_another_amount, partial(missed_posting, kinds=ENTRIES), loan_status_out_of_date),
    "XWBANK": (partial(value_date_a_day_late, kinds=ENTRIES), partial(booked_twice, kinds=REPAYMENTS),
               adjustment_never_posted),
    "HRBANK": (fee_at_another_amount, partial(value_date_a_day_late, kinds=REPAYMENTS),
               partial(missed_posting, kinds=ALLOCATIONS)),
}  # fmt: skip


def plant_mistakes(chain: pl.DataFrame, bank: str, seed: int, as_of: dt.date) -> tuple[pl.DataFrame, list[PlantedBreak]]:
    """The bank's books (its view of the chain with its own mistakes) and the break each mistake must cause.

    Each mistake touches its own record, so each causes exactly one break; a mistake that finds no record
    of its kind (a tiny day) is skipped rather than planted where it would not be one clean break.
    """
    ledger = chain.filter(pl.col("kind").is_in(sorted(LEDGER_KINDS)))  # declared figures are on chain only
    planting = Planting(ledger, ledger.select(RECORD_COLUMNS), random.Random(f"{seed}/{bank}"), bank, as_of)
    planted: list[PlantedBreak] = []
    for mistake in RECIPES.get(bank, ()):
        expected = mistake(planting)
        if expected is not None:
            planting.used.add(expected.key)
            planted.append(expected)
    return planting.books.sort("kind", "key"), planted


# ---------------------------------------------------------------------------------------------- export


def books_paths(bank: str, folder: Path) -> tuple[Path, Path]:
    """Where the bank's export and its column mapping go (known before they are written, for its service)."""
    suffix = "txt" if FORMATS[bank].delimiter == "|" else "csv"
    return folder / f"{bank.lower()}_books.{suffix}", folder / f"{bank.lower()}_mapping.toml"


def write_books(books: pl.DataFrame, bank: str, folder: Path) -> tuple[Path, Path]:
    """The export file and its column mapping, in the bank's own format; returns (books, mapping) paths."""
    fmt = FORMATS[bank]
    folder.mkdir(parents=True, exist_ok=True)
    labels = dict(fmt.kind_labels)
    amount = (
        pl.col("amount").cast(pl.Utf8)
        if fmt.amount_unit == "fen"
        else pl.format(
            "{}{}.{}",
            pl.when(pl.col("amount") < 0).then(pl.lit("-")).otherwise(pl.lit("")),
            pl.col("amount").abs() // 100,
            (pl.col("amount").abs() % 100).cast(pl.Utf8).str.zfill(2),
        )
    )
    exprs = {
        "kind": pl.col("kind").replace(labels) if labels else pl.col("kind"),
        "amount": amount,
        "value_date": pl.col("value_date").dt.strftime(fmt.date_format),
    }
    export = books.select(exprs.get(name, pl.col(name)).alias(column) for name, column in zip(FIELDS, fmt.columns, strict=True))
    path, mapping = books_paths(bank, folder)
    path.write_bytes(export.write_csv(separator=fmt.delimiter).encode(fmt.encoding))
    mapping.write_text(fmt.mapping_toml(), encoding="utf-8")
    return path, mapping
