"""Text rows -> normalized records and rejects, vectorised: the one place every books adapter parses values.

A row is rejected with the first failing check, in this order: extra fields, missing required field,
forbidden text, bad amount, bad date, unknown kind, negative amount on an unsigned kind, wrong bank.
Rows that are entirely empty (blank lines) carry no data and are skipped. Among valid rows, a repeated
(kind, key) is reported as `duplicate_key` but kept (carried) so reconciliation shows a DUPLICATE break.
"""

from __future__ import annotations

import polars as pl

from clearing.books.amounts import amount_expr
from clearing.books.mapping import REQUIRED_FIELDS, BooksMapping
from clearing.books.source import LINE_COLUMN, BooksLoad, RawTable, Reject, RejectCode
from clearing.errors import MissingColumn
from clearing.records import LEDGER_KINDS, RECORD_COLUMNS, RECORD_SCHEMA, SIGNED_KINDS, RecordKind

FORBIDDEN_PATTERN = r"[\t\n\r\x00]"
DIGEST_SEED = 0xB00C
KINDS = [k.value for k in RecordKind if k in LEDGER_KINDS]  # declared figures live on chain, never in books
SIGNED = [k.value for k in SIGNED_KINDS]


def _tidy_columns(frame: pl.DataFrame, columns: list[str]) -> dict[str, pl.Expr]:
    """Per source column: trimmed text with "" as null; a first cheap scan skips the work where not needed."""
    if frame.is_empty() or not columns:
        return {c: pl.col(c) for c in columns}

    def padded(c: str) -> pl.Expr:
        ends = (pl.col(c).str.starts_with(p) | pl.col(c).str.ends_with(p) for p in (" ", "\t"))
        return pl.any_horizontal(ends).any().alias(f"strip:{c}")

    flags = frame.select(*(padded(c) for c in columns), *((pl.col(c) == "").any().alias(f"empty:{c}") for c in columns)).row(
        0, named=True
    )
    tidy = {}
    for c in columns:
        expr = pl.col(c).str.strip_chars() if flags[f"strip:{c}"] else pl.col(c)
        if flags[f"strip:{c}"] or flags[f"empty:{c}"]:
            expr = pl.when(expr == "").then(None).otherwise(expr)
        tidy[c] = expr
    return tidy


def _text_field(tidy: dict[str, pl.Expr], mapping: BooksMapping, name: str, bank: str) -> pl.Expr:
    if name in mapping.columns:
        expr = tidy[mapping.columns[name]]
    elif name in mapping.constants:
        expr = pl.lit(mapping.constants[name], pl.Utf8)
    elif name == "bank":
        expr = pl.lit(bank, pl.Utf8)
    else:
        expr = pl.lit(None, pl.Utf8)
    if name in mapping.values:
        expr = expr.replace(mapping.values[name])
    return expr.alias(name)


def _check_columns(raw: RawTable, mapping: BooksMapping) -> None:
    missing = sorted(set(mapping.columns.values()) - set(raw.frame.columns))
    if missing:
        raise MissingColumn(f"the source has no column(s) {missing} named in the mapping", data=missing)


def normalize(raw: RawTable, mapping: BooksMapping, bank: str, source: str) -> BooksLoad:
    """Parse every text row per the mapping; never raises for a bad row, only for a bad source shape."""
    _check_columns(raw, mapping)
    data_columns = [c for c in raw.frame.columns if c not in (LINE_COLUMN, raw.extra_column)]
    frame = raw.frame
    if data_columns:
        frame = frame.filter(~pl.all_horizontal(pl.col(c).is_null() for c in data_columns))
    rows_read = frame.height
    text_fields = [n for n in RECORD_COLUMNS if n not in ("amount", "value_date")]
    tidy = _tidy_columns(frame, sorted(set(mapping.columns.values())))
    amount_text = tidy[mapping.columns["amount"]]
    date_text = tidy[mapping.columns["value_date"]]
    parsed = frame.select(
        pl.col(LINE_COLUMN).alias("line"),
        *(_text_field(tidy, mapping, n, bank) for n in text_fields),
        amount_text.alias("_amount_text"),
        amount_expr(amount_text, mapping.amount_unit).alias("amount"),
        date_text.alias("_date_text"),
        date_text.str.strptime(pl.Date, mapping.date_format, strict=False).alias("value_date"),
        (pl.col(raw.extra_column).is_not_null() if raw.extra_column else pl.lit(False)).alias("_extra"),
    )

    def empty(name: str) -> pl.Expr:
        column = "_amount_text" if name == "amount" else "_date_text" if name == "value_date" else name
        return pl.col(column).is_null() | (pl.col(column) == "")

    missing_names = pl.concat_str([pl.when(empty(n)).then(pl.lit(n)) for n in REQUIRED_FIELDS], separator=", ", ignore_nulls=True)
    forbidden = (
        pl.lit(False)
        if raw.clean_text
        else pl.any_horizontal(pl.col(n).str.contains(FORBIDDEN_PATTERN).fill_null(False) for n in text_fields)
    )
    checks: list[tuple[pl.Expr, RejectCode, pl.Expr]] = [
        (pl.col("_extra"), RejectCode.EXTRA_FIELDS, pl.lit("row has more fields than the header")),
        (
            pl.any_horizontal(empty(n) for n in REQUIRED_FIELDS),
            RejectCode.MISSING_FIELD,
            pl.format("missing or empty field(s): {}", missing_names),
        ),
        (forbidden, RejectCode.BAD_TEXT, pl.lit("a text field contains a tab, newline or NUL")),
        (
            pl.col("amount").is_null(),
            RejectCode.BAD_AMOUNT,
            pl.concat_str(
                pl.lit("amount "),
                pl.col("_amount_text"),
                pl.lit(" is not an exact amount in " + mapping.amount_unit),
            ),
        ),
        (
            pl.col("value_date").is_null(),
            RejectCode.BAD_DATE,
            pl.concat_str(pl.lit("value date "), pl.col("_date_text"), pl.lit(" does not match " + mapping.date_format)),
        ),
        (
            ~pl.col("kind").is_in(KINDS),
            RejectCode.BAD_KIND,
            pl.format("unknown record kind {}", pl.col("kind")),
        ),
        (
            (pl.col("amount") < 0) & ~pl.col("kind").is_in(SIGNED),
            RejectCode.BAD_SIGN,
            pl.format("{} amount must not be negative", pl.col("kind")),
        ),
        (
            pl.col("bank") != bank,
            RejectCode.WRONG_BANK,
            pl.format("row is for bank {}, reconciling {}", pl.col("bank"), pl.lit(bank)),
        ),
    ]
    code = pl.lit(None, pl.Utf8)
    reason = pl.lit(None, pl.Utf8)
    for condition, reject_code, text in reversed(checks):
        code = pl.when(condition.fill_null(False)).then(pl.lit(reject_code.value)).otherwise(code)
        reason = pl.when(condition.fill_null(False)).then(text).otherwise(reason)
    parsed = parsed.with_columns(code.alias("_code"))
    # reasons are text per row: build them only for the few rows that failed
    bad = parsed.filter(pl.col("_code").is_not_null()).with_columns(reason.alias("_reason"))
    good = parsed.filter(pl.col("_code").is_null()).select("line", *RECORD_COLUMNS)
    good = good.with_columns(pl.col(n).cast(t) for n, t in RECORD_SCHEMA.items())
    rejects = list(raw.rejects)
    rejects.extend(
        Reject(line=line, code=RejectCode(c), reason=r, key=k)
        for line, c, r, k in bad.select("line", "_code", "_reason", "key").iter_rows()
    )
    rejects.extend(_duplicate_rejects(good))
    rejects.sort(key=lambda r: (r.line, r.code))
    return BooksLoad(
        source=source,
        frame=good.select(*RECORD_COLUMNS, "line"),
        rejects=rejects,
        rows_read=rows_read + len(raw.rejects),
    )


def _duplicate_rejects(good: pl.DataFrame) -> list[Reject]:
    """Every repeat of a (kind, key) after its first line; a digest finds candidates, the text decides."""
    digest = pl.col("key").hash(DIGEST_SEED) ^ pl.col("kind").hash(DIGEST_SEED + 1)
    candidates = good.filter(digest.is_duplicated())
    repeated = candidates.filter(~pl.struct("kind", "key").is_first_distinct())
    if repeated.is_empty():
        return []
    first = candidates.group_by("kind", "key").agg(pl.col("line").min().alias("first_line"))
    repeated = repeated.join(first, on=["kind", "key"], how="left")
    return [
        Reject(
            line=line,
            code=RejectCode.DUPLICATE_KEY,
            key=key,
            carried=True,
            reason=f"duplicate key {kind} {key} (first at line {first_line}); kept as a DUPLICATE break",
        )
        for line, kind, key, first_line in repeated.select("line", "kind", "key", "first_line").iter_rows()
    ]
