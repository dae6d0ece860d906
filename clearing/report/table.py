"""The statement and breaks as rich tables for the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from clearing.recon.breaks import AGE_BUCKET_NAMES, BreakType
from clearing.recon.run import RunResult
from clearing.recon.statement import Verdict
from contracts.money import fen

VERDICT_STYLES = {
    Verdict.RECONCILED: "bold green",
    Verdict.RECONCILED_WITH_PENDING: "bold yellow",
    Verdict.BREAKS: "bold red",
    Verdict.INCOMPLETE: "bold magenta",
}
MAX_ROWS = 50


def statement_table(result: RunResult) -> Table:
    s = result.statement
    table = Table(title=f"Reconciliation {s.bank} as of {s.as_of} (amounts in yuan)")
    for column in ("kind", "chain #", "chain", "books #", "books", "matched #", "tolerated", "breaks #", "explained", "residual"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for section in (*s.kinds, s.overall):
        table.add_row(
            section.kind,
            str(section.chain.count),
            fen(section.chain.amount),
            str(section.books.count),
            fen(section.books.amount),
            str(section.matched_count),
            fen(section.tolerated_difference),
            str(sum(t.count for t in section.breaks.values())),
            fen(section.explained),
            fen(section.residual),
            style="bold" if section is s.overall else None,
        )
    return table


def breaks_summary_table(result: RunResult) -> Table:
    s = result.statement
    table = Table(title="Breaks by type and age (days since first seen)")
    table.add_column("type")
    for bucket in AGE_BUCKET_NAMES:
        table.add_column(bucket, justify="right")
    table.add_column("difference", justify="right")
    for btype in BreakType:
        table.add_row(
            btype.value,
            *(str(s.breaks_by_age[b][btype.value]) for b in AGE_BUCKET_NAMES),
            fen(s.overall.breaks[btype.value].difference),
        )
    return table


def breaks_table(result: RunResult, limit: int = MAX_ROWS) -> Table:
    table = Table(title=f"Breaks (first {min(limit, result.breaks.height)} of {result.breaks.height})")
    for column in ("break id", "state", "age", "chain", "books", "line", "detail"):
        table.add_column(column)
    rows = (
        result.breaks.head(limit)
        .select("break_id", "state", "age_bucket", "chain_amount", "books_amount", "books_line", "detail")
        .iter_rows()
    )
    for bid, state, age, chain, books, line, detail in rows:
        table.add_row(bid, state, age, fen(chain), fen(books), "" if line is None else str(line), detail)
    return table


def rejects_table(result: RunResult, limit: int = MAX_ROWS) -> Table:
    table = Table(title=f"Rejected books rows (first {min(limit, len(result.rejects))} of {len(result.rejects)})")
    for column in ("line", "code", "reason"):
        table.add_column(column)
    for reject in result.rejects[:limit]:
        table.add_row(str(reject.line), reject.code.value, reject.reason)
    return table


def print_result(console: Console, result: RunResult) -> None:
    s = result.statement
    console.print(statement_table(result))
    if result.breaks.height:
        console.print(breaks_summary_table(result))
        console.print(breaks_table(result))
    if result.rejects:
        console.print(rejects_table(result))
    console.print(f"[{VERDICT_STYLES[s.verdict]}]{s.verdict.value}[/]: " + "; ".join(s.verdict_reasons))
