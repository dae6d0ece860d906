"""Matching and classification of one bank's chain records against its books, vectorised in polars.

Order of rules:
1. Duplicates: within each side, every repeat of a (kind, key) after the first is a DUPLICATE break
   (one break per side and key; its amount is the repeats' sum) and takes no further part.
2. Exact key match on (kind, key). A pair then agrees on amount when |chain - books| <= tolerance (same
   currency required), on value date when the dates are at most `date_window_days` apart, and on status
   when the books carry no status or the statuses are equal. Each disagreement is one break of its type:
   AMOUNT_MISMATCH, DATE_MISMATCH, STATUS_MISMATCH.
3. Grouping (if enabled): leftovers of one kind sharing a reference, one row on one side and one or more
   on the other (1:1, 1:N, N:1), match when the sums agree within tolerance; their dates must lie within
   the window or the group gets a DATE_MISMATCH break keyed "ref:<reference>".
4. What is left is MISSING_IN_BOOKS (chain only) or MISSING_ON_CHAIN (books only).

Money accounting: every row lands in exactly one unit (pair, group, duplicate or missing break), and each
unit's chain - books difference is either zero, tolerated, or carried by exactly one break (`difference`:
AMOUNT_MISMATCH and MISSING_* and DUPLICATE carry it; DATE and STATUS breaks carry 0). The statement
checks this from the raw totals, so a lost or double-counted row shows up as a non-zero residual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from clearing.errors import ReconError
from clearing.recon.breaks import BREAK_SCHEMA, BreakType, Side, break_id_expr
from clearing.recon.rules import MatchRules
from clearing.records import RECORD_COLUMNS, RECORD_SCHEMA, RecordKind

KIND_ENUM = pl.Enum([k.value for k in RecordKind])
HASH_SEED = 0x5EED
PAIR_FIELDS = ["amount", "currency", "value_date", "status"]
DETAIL_FIELDS = ["kind", "key", "counterparty", "reference"]
MATCH_SCHEMA: dict[str, pl.DataType] = {
    "kind": KIND_ENUM,
    "key": pl.Utf8(),
    "rule": pl.Utf8(),
    "chain_amount": pl.Int64(),
    "books_amount": pl.Int64(),
    "difference": pl.Int64(),
    "amount_tolerated": pl.Boolean(),
    "date_tolerated": pl.Boolean(),
    "has_break": pl.Boolean(),
    "chain_rows": pl.UInt32(),
    "books_rows": pl.UInt32(),
}


@dataclass(frozen=True)
class Classification:
    """Engine output: inputs (for totals), matched units and breaks, all as frames."""

    chain: pl.DataFrame  # RECORD_SCHEMA, kind as KIND_ENUM
    books: pl.DataFrame  # RECORD_SCHEMA (kind as KIND_ENUM) + line
    # MATCH_SCHEMA: one row per key pair (key null: see chain/books) or reference group; has_break flags
    # pairs that also raised a DATE, STATUS or AMOUNT break
    matched: pl.DataFrame
    breaks: pl.DataFrame  # BREAK_SCHEMA, sorted by break_id


def _prepare(frame: pl.DataFrame, with_line: bool) -> pl.DataFrame:
    """RECORD_SCHEMA with kind as an Enum (cheap to group and hash) and a books `line` column."""
    columns = [pl.col(c).cast(KIND_ENUM if c == "kind" else t) for c, t in RECORD_SCHEMA.items()]
    has_line = with_line and "line" in frame.columns
    line = pl.col("line").cast(pl.Int64) if has_line else pl.lit(None, pl.Int64)
    return frame.select(*columns, line.alias("line"))


def _uid_hash(frame: pl.DataFrame) -> pl.Series:
    """A 64-bit digest of (kind, key); the join runs on it, and every use is checked against the real keys."""
    return frame.select((pl.col("key").hash(HASH_SEED) ^ pl.col("kind").hash(HASH_SEED + 1)).alias("_h")).to_series()


def _repeats(frame: pl.DataFrame, digest: pl.Series) -> pl.Series:
    """Row numbers of every repeat of a (kind, key) after its first occurrence, exactly."""
    candidates = frame.with_row_index("_r").filter(digest.is_duplicated())
    if candidates.is_empty():
        return pl.Series("_r", [], dtype=pl.UInt32)
    return candidates.filter(~pl.struct("kind", "key").is_first_distinct()).get_column("_r")


def _breaks(
    frame: pl.DataFrame,
    break_type: BreakType,
    side: Side,
    *,
    chain_amount: pl.Expr,
    books_amount: pl.Expr,
    difference: pl.Expr,
    detail: pl.Expr,
    chain_cols: bool,
    books_cols: bool,
) -> pl.DataFrame:
    """Shape a frame of offending rows into BREAK_SCHEMA (pairs carry books columns with a _b suffix)."""

    def col(name: str, present: bool, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name) if present else pl.lit(None, dtype)

    return frame.select(
        break_id_expr(break_type, side).alias("break_id"),
        pl.lit(break_type.value).alias("break_type"),
        pl.col("kind").cast(pl.Utf8),
        pl.col("key"),
        pl.lit(side.value).alias("side"),
        chain_amount.cast(pl.Int64).alias("chain_amount"),
        books_amount.cast(pl.Int64).alias("books_amount"),
        difference.cast(pl.Int64).alias("difference"),
        col("value_date", chain_cols, pl.Date()).alias("chain_date"),
        col("value_date_b" if chain_cols else "value_date", books_cols, pl.Date()).alias("books_date"),
        col("status", chain_cols, pl.Utf8()).alias("chain_status"),
        col("status_b" if chain_cols else "status", books_cols, pl.Utf8()).alias("books_status"),
        col("line", books_cols, pl.Int64()).alias("books_line"),
        pl.col("reference"),
        pl.col("counterparty"),
        detail.alias("detail"),
    ).cast(BREAK_SCHEMA)  # type: ignore[arg-type]


def _duplicate_breaks(frame: pl.DataFrame, repeats: pl.Series, side: Side) -> pl.DataFrame:
    if repeats.is_empty():
        return pl.DataFrame(schema=BREAK_SCHEMA)
    grouped = (
        frame[repeats]
        .group_by(["kind", "key"], maintain_order=True)
        .agg(
            pl.col("amount").sum().alias("extra_amount"),
            pl.len().alias("extra_rows"),
            pl.col("value_date").first(),
            pl.col("status").first(),
            pl.col("line").first(),
            pl.col("reference").first(),
            pl.col("counterparty").first(),
        )
    )
    on_chain = side is Side.CHAIN
    extra = pl.col("extra_amount")
    return _breaks(
        grouped,
        BreakType.DUPLICATE,
        side,
        chain_amount=extra if on_chain else pl.lit(None),
        books_amount=pl.lit(None) if on_chain else extra,
        difference=extra if on_chain else -extra,
        detail=pl.format("{} extra row(s) for this key", pl.col("extra_rows")),
        chain_cols=on_chain,
        books_cols=not on_chain,
    )


def _narrow(frame: pl.DataFrame, digest: pl.Series, repeats: pl.Series, exact: bool, books: bool) -> pl.DataFrame:
    """Only what the pair comparison needs, without repeats: join key(s), row number, compared fields."""
    keys = [pl.col("kind").alias("_kt"), pl.col("key").alias("_kk")] if exact else [digest.alias("_h")]
    extra = [pl.col("line")] if books else [pl.col("kind")]
    narrow = frame.select(*keys, *PAIR_FIELDS, *extra).with_row_index("_r")
    if not repeats.is_empty():
        narrow = narrow.filter(~pl.col("_r").is_in(repeats.implode()))
    return narrow


def _join_pairs(
    chain: pl.DataFrame, books: pl.DataFrame, digests: tuple[pl.Series, pl.Series], repeats: tuple[pl.Series, pl.Series]
) -> pl.DataFrame:
    """Full outer join of the sides by digest; falls back to the text keys if two keys share a digest."""
    left = _narrow(chain, digests[0], repeats[0], exact=False, books=False)
    right = _narrow(books, digests[1], repeats[1], exact=False, books=True)
    collision = left.get_column("_h").is_duplicated().any() or right.get_column("_h").is_duplicated().any()
    if not collision:
        joined = left.join(right, on="_h", how="full", coalesce=True, suffix="_b")
        both = joined.filter(pl.col("_r").is_not_null() & pl.col("_r_b").is_not_null())
        chain_keys = chain.get_column("key").gather(both.get_column("_r"))
        books_keys = books.get_column("key").gather(both.get_column("_r_b"))
        if bool((chain_keys == books_keys).all()):
            return joined.drop("_h")
    left = _narrow(chain, digests[0], repeats[0], exact=True, books=False)
    right = _narrow(books, digests[1], repeats[1], exact=True, books=True)
    joined = left.join(right, on=["_kt", "_kk"], how="full", coalesce=True, suffix="_b")
    return joined.drop("_kt", "_kk")


def classify(chain: pl.DataFrame, books: pl.DataFrame, rules: MatchRules) -> Classification:
    """Match one bank's chain records with its books (both RECORD_SCHEMA; books may carry `line`)."""
    chain = _prepare(chain, with_line=False)
    books = _prepare(books, with_line=True)
    digests = (_uid_hash(chain), _uid_hash(books))
    repeats = (_repeats(chain, digests[0]), _repeats(books, digests[1]))
    duplicate_breaks = [
        _duplicate_breaks(chain, repeats[0], Side.CHAIN),
        _duplicate_breaks(books, repeats[1], Side.BOOKS),
    ]
    joined = _join_pairs(chain, books, digests, repeats)
    in_chain, in_books = pl.col("_r").is_not_null(), pl.col("_r_b").is_not_null()
    pairs = joined.filter(in_chain & in_books).with_columns(
        (pl.col("amount") - pl.col("amount_b")).alias("_diff"),
        rules.tolerance(pl.col("amount")).alias("_tol"),
        (pl.col("value_date") - pl.col("value_date_b")).dt.total_days().abs().alias("_days"),
    )
    pairs = pairs.with_columns(
        ((pl.col("_diff").abs() > pl.col("_tol")) | (pl.col("currency") != pl.col("currency_b"))).alias("_amount_bad"),
        (pl.col("_days") > rules.date_window_days).alias("_date_bad"),
        (pl.col("status_b").is_not_null() & pl.col("status").ne_missing(pl.col("status_b"))).alias("_status_bad"),
    )
    agreeing = ~pl.col("_amount_bad")
    matched_pairs = pairs.select(
        pl.col("kind"),
        pl.lit(None, pl.Utf8).alias("key"),
        pl.lit("KEY").alias("rule"),
        pl.col("amount").alias("chain_amount"),
        pl.col("amount_b").alias("books_amount"),
        pl.when(agreeing).then(pl.col("_diff")).otherwise(0).alias("difference"),
        (agreeing & (pl.col("_diff") != 0)).alias("amount_tolerated"),
        (~pl.col("_date_bad") & (pl.col("_days") != 0)).alias("date_tolerated"),
        (pl.col("_amount_bad") | pl.col("_date_bad") | pl.col("_status_bad")).alias("has_break"),
        pl.lit(1, pl.UInt32).alias("chain_rows"),
        pl.lit(1, pl.UInt32).alias("books_rows"),
    )
    offending = pairs.filter(pl.col("_amount_bad") | pl.col("_date_bad") | pl.col("_status_bad"))
    offending = offending.drop("kind").with_columns(chain.select(DETAIL_FIELDS)[offending.get_column("_r")])
    pair_breaks = _pair_breaks(offending, rules)

    chain_left = chain[joined.filter(~in_books).get_column("_r")]
    books_left = books[joined.filter(~in_chain).get_column("_r_b")]
    group_units = pl.DataFrame(schema=MATCH_SCHEMA)
    group_breaks = pl.DataFrame(schema=BREAK_SCHEMA)
    if rules.group_by_reference and not chain_left.is_empty() and not books_left.is_empty():
        chain_left, books_left, group_units, group_breaks = _match_groups(chain_left, books_left, rules)

    missing = [
        _breaks(
            chain_left,
            BreakType.MISSING_IN_BOOKS,
            Side.CHAIN,
            chain_amount=pl.col("amount"),
            books_amount=pl.lit(None),
            difference=pl.col("amount"),
            detail=pl.lit("on chain, not in books"),
            chain_cols=True,
            books_cols=False,
        ),
        _breaks(
            books_left,
            BreakType.MISSING_ON_CHAIN,
            Side.BOOKS,
            chain_amount=pl.lit(None),
            books_amount=pl.col("amount"),
            difference=-pl.col("amount"),
            detail=pl.lit("in books, not on chain"),
            chain_cols=False,
            books_cols=True,
        ),
    ]
    breaks = pl.concat([*duplicate_breaks, *pair_breaks, group_breaks, *missing], how="vertical")
    if breaks.get_column("break_id").is_duplicated().any():  # e.g. a record key spelled like "ref:<reference>"
        clash = breaks.filter(pl.col("break_id").is_duplicated()).get_column("break_id")[0]
        raise ReconError(f"two breaks share the id {clash!r}; break ids must be unique per run", data=clash)
    matched = pl.concat([matched_pairs.cast(MATCH_SCHEMA), group_units], how="vertical")  # type: ignore[arg-type]
    return Classification(chain=chain.select(RECORD_COLUMNS), books=books, matched=matched, breaks=breaks.sort("break_id"))


def _pair_breaks(offending: pl.DataFrame, rules: MatchRules) -> list[pl.DataFrame]:
    """AMOUNT, DATE and STATUS breaks of key-matched pairs (`offending` has chain and _b books columns)."""
    currency_differs = pl.col("currency") != pl.col("currency_b")
    both: dict[str, Any] = {  # a pair has both sides' columns and amounts
        "chain_amount": pl.col("amount"), "books_amount": pl.col("amount_b"), "chain_cols": True, "books_cols": True,
    }  # fmt: skip
    return [
        _breaks(
            offending.filter(pl.col("_amount_bad")),
            BreakType.AMOUNT_MISMATCH,
            Side.BOTH,
            difference=pl.col("_diff"),
            detail=pl.when(currency_differs)
            .then(pl.format("currency {} on chain, {} in books", pl.col("currency"), pl.col("currency_b")))
            .otherwise(pl.format("differs by {} fen, tolerance {}", pl.col("_diff"), pl.col("_tol"))),
            **both,
        ),
        _breaks(
            offending.filter(pl.col("_date_bad")),
            BreakType.DATE_MISMATCH,
            Side.BOTH,
            difference=pl.lit(0),
            detail=pl.format("value dates {} days apart, window {}", pl.col("_days"), pl.lit(rules.date_window_days)),
            **both,
        ),
        _breaks(
            offending.filter(pl.col("_status_bad")),
            BreakType.STATUS_MISMATCH,
            Side.BOTH,
            difference=pl.lit(0),
            detail=pl.format("status {} on chain, {} in books", pl.col("status"), pl.col("status_b")),
            **both,
        ),
    ]


def _match_groups(
    chain_left: pl.DataFrame, books_left: pl.DataFrame, rules: MatchRules
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """1:1, 1:N and N:1 matches of leftovers by (kind, reference); returns what is still unmatched."""
    group_keys = ["kind", "reference"]

    def summarize(frame: pl.DataFrame, suffix: str) -> pl.DataFrame:
        return (
            frame.filter(pl.col("reference").is_not_null())
            .group_by(group_keys)
            .agg(
                pl.len().alias(f"n{suffix}"),
                pl.col("amount").sum().alias(f"sum{suffix}"),
                pl.col("value_date").min().alias(f"dmin{suffix}"),
                pl.col("value_date").max().alias(f"dmax{suffix}"),
                pl.col("currency").n_unique().alias(f"ncur{suffix}"),
                pl.col("currency").first().alias(f"cur{suffix}"),
                pl.col("status").first().alias(f"st{suffix}"),
                pl.col("line").min().alias(f"line{suffix}"),
                pl.col("counterparty").first().alias(f"cp{suffix}"),
            )
        )

    groups = summarize(chain_left, "_c").join(summarize(books_left, "_b"), on=group_keys, how="inner")
    groups = groups.with_columns(
        (pl.col("sum_c") - pl.col("sum_b")).alias("_diff"),
        rules.tolerance(pl.col("sum_c")).alias("_tol"),
        pl.max_horizontal(
            (pl.col("dmax_c") - pl.col("dmin_b")).dt.total_days().abs(),
            (pl.col("dmax_b") - pl.col("dmin_c")).dt.total_days().abs(),
        ).alias("_days"),
    ).filter(
        ((pl.col("n_c") == 1) | (pl.col("n_b") == 1))
        & (pl.col("ncur_c") == 1)
        & (pl.col("ncur_b") == 1)
        & (pl.col("cur_c") == pl.col("cur_b"))
        & (pl.col("_diff").abs() <= pl.col("_tol"))
    )
    if groups.is_empty():
        return chain_left, books_left, pl.DataFrame(schema=MATCH_SCHEMA), pl.DataFrame(schema=BREAK_SCHEMA)
    date_bad = pl.col("_days") > rules.date_window_days
    units = groups.select(
        pl.col("kind"),
        pl.concat_str(pl.lit("ref:"), pl.col("reference")).alias("key"),
        pl.lit("GROUP").alias("rule"),
        pl.col("sum_c").alias("chain_amount"),
        pl.col("sum_b").alias("books_amount"),
        pl.col("_diff").alias("difference"),
        (pl.col("_diff") != 0).alias("amount_tolerated"),
        (~date_bad & (pl.col("_days") != 0)).alias("date_tolerated"),
        date_bad.alias("has_break"),
        pl.col("n_c").cast(pl.UInt32).alias("chain_rows"),
        pl.col("n_b").cast(pl.UInt32).alias("books_rows"),
    ).cast(MATCH_SCHEMA)  # type: ignore[arg-type]
    late = groups.filter(date_bad).select(
        pl.col("kind"),
        pl.concat_str(pl.lit("ref:"), pl.col("reference")).alias("key"),
        pl.col("reference"),
        pl.col("sum_c").alias("amount"),
        pl.col("sum_b").alias("amount_b"),
        pl.col("dmin_c").alias("value_date"),
        pl.col("dmin_b").alias("value_date_b"),
        pl.col("st_c").alias("status"),
        pl.col("st_b").alias("status_b"),
        pl.col("line_b").alias("line"),
        pl.col("cp_c").alias("counterparty"),
        pl.col("_days"),
        pl.col("n_c"),
        pl.col("n_b"),
    )
    group_breaks = _breaks(
        late,
        BreakType.DATE_MISMATCH,
        Side.BOTH,
        chain_amount=pl.col("amount"),
        books_amount=pl.col("amount_b"),
        difference=pl.lit(0),
        chain_cols=True,
        books_cols=True,
        detail=pl.format(
            "group of {} chain / {} books rows: value dates up to {} days apart",
            pl.col("n_c"),
            pl.col("n_b"),
            pl.col("_days"),
        ),
    )
    matched_refs = groups.select(group_keys)
    chain_left = chain_left.join(matched_refs, on=group_keys, how="anti", nulls_equal=False)
    books_left = books_left.join(matched_refs, on=group_keys, how="anti", nulls_equal=False)
    return chain_left, books_left, units, group_breaks
