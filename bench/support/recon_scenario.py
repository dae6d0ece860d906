"""Seeded synthetic chain records and books with every break type sprinkled in, for tests and the benchmark.

Every mutation is applied to its own disjoint set of rows, so the expected outcome is known exactly:
`expected_breaks` per type, plus the numbers of tolerated amounts, dates within the window and 1:N groups.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from clearing.recon.breaks import BreakType
from clearing.recon.rules import MatchRules
from clearing.records import LEDGER_KINDS, RECORD_COLUMNS, RECORD_SCHEMA, SIGNED_KINDS, RecordKind

LEDGER = [k for k in RecordKind if k in LEDGER_KINDS]  # enum order, so seeded scenarios stay the same
KINDS = [k.value for k in LEDGER]
SIGNED = np.array([k in SIGNED_KINDS for k in LEDGER])
STATUSES = ["ACTIVE", "CONFIRMED", "NETTED", "SETTLED"]
COUNTERPARTIES = ["ICBC", "CCB", "ABC", "BOC", "CMB"]
START = dt.date(2026, 9, 1)
SPREAD_DAYS = 60
MUTATIONS = ("amount", "date", "status", "missing_in_books", "missing_on_chain", "duplicate", "tolerated", "date_window", "group")


@dataclass(frozen=True)
class Scenario:
    chain: pl.DataFrame
    books: pl.DataFrame  # RECORD_SCHEMA + line (as if written by `write_books_csv`)
    rules: MatchRules
    expected_breaks: dict[str, int]
    expected_tolerated: int
    expected_date_window: int
    expected_groups: int
    mutated_keys: dict[str, list[str]] = field(default_factory=dict)


def generate(
    rows: int, *, bank: str = "WEBANK", seed: int = 7, break_every: int = 200, rules: MatchRules | None = None
) -> Scenario:
    """`rows` chain records; 1 in `break_every` rows gets each mutation (at least one row each)."""
    rules = rules or MatchRules(amount_abs_fen=2, date_window_days=1)
    rng = np.random.default_rng(seed)
    index = np.arange(rows)
    kind_ix = rng.integers(0, len(KINDS), rows)
    magnitude = rng.integers(100, 50_000_000, rows)
    sign = np.where(SIGNED[kind_ix] & (rng.random(rows) < 0.5), -1, 1)
    base = pl.DataFrame(
        {
            "_i": index,
            "_k": kind_ix,
            "amount": magnitude * sign,
            "_d": rng.integers(0, SPREAD_DAYS, rows),
            "_s": rng.integers(0, len(STATUSES), rows),
            "_c": rng.integers(0, len(COUNTERPARTIES), rows),
        }
    ).select(
        pl.col("_i"),
        pl.col("_k").replace_strict(dict(enumerate(KINDS)), return_dtype=pl.Utf8).alias("kind"),
        pl.concat_str(pl.lit("K"), pl.col("_i").cast(pl.Utf8).str.zfill(9)).alias("key"),
        pl.lit(bank).alias("bank"),
        pl.col("_c").replace_strict(dict(enumerate(COUNTERPARTIES)), return_dtype=pl.Utf8).alias("counterparty"),
        pl.concat_str(pl.lit("LN"), (pl.col("_i") // 10).cast(pl.Utf8)).alias("loan_id"),
        pl.concat_str(pl.lit("CY"), (pl.col("_i") // 1000).cast(pl.Utf8)).alias("cycle_id"),
        pl.col("amount").cast(pl.Int64),
        pl.lit("CNY").alias("currency"),
        (pl.lit(START) + pl.duration(days=pl.col("_d"))).cast(pl.Date).alias("value_date"),
        pl.col("_s").replace_strict(dict(enumerate(STATUSES)), return_dtype=pl.Utf8).alias("status"),
        pl.concat_str(pl.lit("R"), pl.col("_i").cast(pl.Utf8)).alias("reference"),
    )
    per = max(1, rows // break_every)
    if per * len(MUTATIONS) > rows:
        raise ValueError(f"need at least {len(MUTATIONS)} rows per mutation set")
    chosen = rng.permutation(rows)[: per * len(MUTATIONS)].reshape(len(MUTATIONS), per)
    sets = {name: pl.Series(np.sort(chosen[i])) for i, name in enumerate(MUTATIONS)}
    tol = rules.amount_abs_fen
    in_set = {name: pl.col("_i").is_in(s.implode()) for name, s in sets.items()}

    books = base.with_columns(
        pl.when(in_set["amount"])
        .then(pl.col("amount") + tol + 1 + pl.col("_i") % 997)
        .when(in_set["tolerated"])
        .then(pl.col("amount") + (tol if tol else 0))
        .otherwise(pl.col("amount"))
        .alias("amount"),
        pl.when(in_set["date"])
        .then(pl.col("value_date") + pl.duration(days=rules.date_window_days + 3))
        .when(in_set["date_window"])
        .then(pl.col("value_date") + pl.duration(days=rules.date_window_days))
        .otherwise(pl.col("value_date"))
        .cast(pl.Date)
        .alias("value_date"),
        pl.when(in_set["status"]).then(pl.lit("DISPUTED")).otherwise(pl.col("status")).alias("status"),
    )
    split = books.filter(in_set["group"])
    halves = pl.concat(
        [
            split.with_columns(pl.concat_str(pl.col("key"), pl.lit("-a")).alias("key"), (pl.col("amount") // 2).alias("amount")),
            split.with_columns(
                pl.concat_str(pl.col("key"), pl.lit("-b")).alias("key"),
                (pl.col("amount") - pl.col("amount") // 2).alias("amount"),
            ),
        ]
    )
    books = pl.concat(
        [
            books.filter(~in_set["missing_in_books"] & ~in_set["group"]),
            halves,
            books.filter(in_set["duplicate"]),
        ]
    )
    chain = base.filter(~in_set["missing_on_chain"])
    books = books.select(RECORD_COLUMNS).with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))
    expected = {t.value: per for t in BreakType}  # with zero tolerance the "tolerated" rows are exact matches
    keys_of = {name: base.filter(in_set[name]).get_column("key").to_list() for name in MUTATIONS}
    return Scenario(
        chain=chain.select(RECORD_COLUMNS).cast(RECORD_SCHEMA),  # type: ignore[arg-type]
        books=books.cast({**RECORD_SCHEMA, "line": pl.Int64}),  # type: ignore[arg-type]
        rules=rules,
        expected_breaks=expected,
        expected_tolerated=per if tol else 0,
        expected_date_window=per if rules.date_window_days else 0,
        expected_groups=per,
        mutated_keys=keys_of,
    )


def fen_to_yuan_text(amount: pl.Expr) -> pl.Expr:
    """Int fen -> "-123.45" text, exactly (integer arithmetic only)."""
    magnitude = amount.abs()
    return pl.concat_str(
        pl.when(amount < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (magnitude // 100).cast(pl.Utf8),
        pl.lit("."),
        (magnitude % 100).cast(pl.Utf8).str.zfill(2),
    )


BOOKS_CSV_COLUMNS = {
    "kind": "record_type",
    "key": "ref_no",
    "counterparty": "cpty",
    "loan_id": "loan",
    "cycle_id": "cycle",
    "amount": "amount_yuan",
    "currency": "ccy",
    "value_date": "value_date",
    "status": "status",
    "reference": "payment_ref",
}


def write_books_csv(books: pl.DataFrame, path: str | Path) -> dict[str, object]:
    """Write books as a bank-style CSV (amounts in yuan, dates YYYYMMDD); returns the matching mapping doc."""
    books.select(
        *(
            fen_to_yuan_text(pl.col(f)).alias(c)
            if f == "amount"
            else pl.col(f).dt.strftime("%Y%m%d").alias(c)
            if f == "value_date"
            else pl.col(f).alias(c)
            for f, c in BOOKS_CSV_COLUMNS.items()
        ),
    ).write_csv(path)
    return {"columns": dict(BOOKS_CSV_COLUMNS), "format": {"date": "%Y%m%d", "amount_unit": "yuan"}}
