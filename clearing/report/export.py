"""Machine-readable run output: one JSON document, and CSV files for statement, breaks and rejects."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import polars as pl

from clearing.recon.run import RunResult
from clearing.recon.statement import Section

BREAK_EXPORT_COLUMNS = (
    "break_id",
    "break_type",
    "state",
    "assignee",
    "kind",
    "key",
    "side",
    "chain_amount",
    "books_amount",
    "difference",
    "chain_date",
    "books_date",
    "chain_status",
    "books_status",
    "books_line",
    "reference",
    "counterparty",
    "first_seen",
    "age_days",
    "age_bucket",
    "detail",
)
STATEMENT_CSV_COLUMNS = (
    "kind",
    "chain_count",
    "chain_amount",
    "books_count",
    "books_amount",
    "matched_count",
    "matched_chain_amount",
    "matched_books_amount",
    "tolerated_count",
    "tolerated_difference",
    "date_window_count",
    "breaks_count",
    "breaks_difference",
    "explained",
    "residual",
)


def breaks_frame(result: RunResult) -> pl.DataFrame:
    return result.breaks.select(BREAK_EXPORT_COLUMNS)


def result_document(result: RunResult) -> dict[str, Any]:
    """Statement, breaks and rejects as plain JSON values (amounts stay int fen)."""
    return {
        "statement": result.statement.to_dict(),
        "breaks": breaks_frame(result).with_columns(pl.col(pl.Date).dt.to_string()).to_dicts(),
        "rejects": [{**dataclasses.asdict(r), "code": r.code.value} for r in result.rejects],
    }


def to_json(result: RunResult) -> str:
    return json.dumps(result_document(result), indent=2, sort_keys=False)


def _section_row(section: Section) -> dict[str, object]:
    return {
        "kind": section.kind,
        "chain_count": section.chain.count,
        "chain_amount": section.chain.amount,
        "books_count": section.books.count,
        "books_amount": section.books.amount,
        "matched_count": section.matched_count,
        "matched_chain_amount": section.matched_chain_amount,
        "matched_books_amount": section.matched_books_amount,
        "tolerated_count": section.tolerated_count,
        "tolerated_difference": section.tolerated_difference,
        "date_window_count": section.date_window_count,
        "breaks_count": sum(t.count for t in section.breaks.values()),
        "breaks_difference": sum(t.difference for t in section.breaks.values()),
        "explained": section.explained,
        "residual": section.residual,
    }


def statement_csv(result: RunResult) -> str:
    """One row per record kind plus ALL."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=STATEMENT_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for section in (*result.statement.kinds, result.statement.overall):
        writer.writerow(_section_row(section))
    return out.getvalue()


def write_outputs(result: RunResult, out_dir: str | Path) -> dict[str, Path]:
    """statement.json, statement.csv, breaks.csv and rejects.csv in `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "statement.json",
        "statement_csv": out / "statement.csv",
        "breaks_csv": out / "breaks.csv",
        "rejects_csv": out / "rejects.csv",
    }
    paths["json"].write_text(to_json(result))
    paths["statement_csv"].write_text(statement_csv(result))
    breaks_frame(result).write_csv(paths["breaks_csv"])
    with paths["rejects_csv"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "code", "reason", "key", "carried"])
        for r in result.rejects:
            writer.writerow([r.line, r.code.value, r.reason, r.key or "", str(r.carried).lower()])
    return paths
