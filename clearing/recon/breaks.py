"""Break vocabulary: types, workflow states, stable ids and age buckets."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import polars as pl


class BreakType(StrEnum):
    MISSING_ON_CHAIN = "MISSING_ON_CHAIN"
    MISSING_IN_BOOKS = "MISSING_IN_BOOKS"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    DATE_MISMATCH = "DATE_MISMATCH"
    STATUS_MISMATCH = "STATUS_MISMATCH"
    DUPLICATE = "DUPLICATE"


class BreakState(StrEnum):
    OPEN = "OPEN"
    ASSIGNED = "ASSIGNED"
    RESOLVED = "RESOLVED"


class Side(StrEnum):
    CHAIN = "CHAIN"
    BOOKS = "BOOKS"
    BOTH = "BOTH"


AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-1", 0, 1),
    ("2-7", 2, 7),
    ("8-30", 8, 30),
    (">30", 31, None),
)
AGE_BUCKET_NAMES = tuple(name for name, _, _ in AGE_BUCKETS)

BREAK_SCHEMA: dict[str, pl.DataType] = {
    "break_id": pl.Utf8(),
    "break_type": pl.Utf8(),
    "kind": pl.Utf8(),
    "key": pl.Utf8(),
    "side": pl.Utf8(),
    "chain_amount": pl.Int64(),
    "books_amount": pl.Int64(),
    "difference": pl.Int64(),
    "chain_date": pl.Date(),
    "books_date": pl.Date(),
    "chain_status": pl.Utf8(),
    "books_status": pl.Utf8(),
    "books_line": pl.Int64(),
    "reference": pl.Utf8(),
    "counterparty": pl.Utf8(),
    "detail": pl.Utf8(),
}


def break_id(break_type: BreakType | str, kind: str, key: str, side: Side | str | None = None) -> str:
    """Stable across runs: the same discrepancy on the same key gets the same id (DUPLICATE adds the side)."""
    if str(break_type) == BreakType.DUPLICATE:
        return f"{break_type}/{side}/{kind}/{key}"
    return f"{break_type}/{kind}/{key}"


def break_id_expr(break_type: BreakType, side: Side) -> pl.Expr:
    """Vectorised `break_id` over frames with kind and key columns."""
    prefix = f"{break_type}/{side}/" if break_type is BreakType.DUPLICATE else f"{break_type}/"
    return pl.concat_str(pl.lit(prefix), pl.col("kind"), pl.lit("/"), pl.col("key"))


def age_days(first_seen: dt.date, as_of: dt.date) -> int:
    return max((as_of - first_seen).days, 0)


def first_seen_window(bucket: str, as_of: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The first-seen dates (earliest, latest; None: open) of breaks in age `bucket` as of `as_of`."""
    for name, low, high in AGE_BUCKETS:
        if name == bucket:
            earliest = None if high is None else as_of - dt.timedelta(days=high)
            return earliest, as_of - dt.timedelta(days=low)
    raise ValueError(f"unknown age bucket {bucket!r}; one of {AGE_BUCKET_NAMES}")


def age_bucket(first_seen: dt.date, as_of: dt.date) -> str:
    """Bucket of a break's age, measured from first seen to the run's as-of date (never the wall clock)."""
    days = age_days(first_seen, as_of)
    for name, low, high in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return name
    raise AssertionError(f"age {days} fits no bucket")
