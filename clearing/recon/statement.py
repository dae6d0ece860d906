"""The run statement: totals per side, matches, breaks by type, the residual (must be 0), the verdict."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import polars as pl

from clearing.errors import UnexplainedResidual
from clearing.recon.breaks import AGE_BUCKET_NAMES, BreakState, BreakType
from clearing.recon.engine import Classification

ALL_KINDS = "ALL"


class Verdict(StrEnum):
    RECONCILED = "RECONCILED"
    RECONCILED_WITH_PENDING = "RECONCILED_WITH_PENDING"
    BREAKS = "BREAKS"
    INCOMPLETE = "INCOMPLETE"


@dataclass(frozen=True)
class Totals:
    count: int
    amount: int


@dataclass(frozen=True)
class Section:
    """Figures for one record kind (or ALL). residual = chain - books - explained, asserted 0."""

    kind: str
    chain: Totals
    books: Totals
    matched_count: int  # key pairs and reference groups with no break
    matched_chain_amount: int
    matched_books_amount: int
    tolerated_count: int  # units whose amounts differ within tolerance
    tolerated_difference: int
    date_window_count: int  # units whose dates differ within the window
    breaks: dict[str, Totals]  # break type -> (count, difference carried)
    explained: int
    residual: int


@dataclass(frozen=True)
class Statement:
    bank: str
    as_of: dt.date
    run_id: str
    books_source: str
    index_block: int | None
    chain_head: int | None
    overall: Section
    kinds: list[Section]
    rejects_total: int
    rejects_unreadable: int
    rejects_by_code: dict[str, int]
    breaks_by_state: dict[str, int]
    breaks_by_age: dict[str, dict[str, int]]  # age bucket -> break type -> count
    verdict: Verdict
    verdict_reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        doc = dataclasses.asdict(self)
        doc["as_of"] = self.as_of.isoformat()
        doc["verdict"] = self.verdict.value
        return doc


def _sum(frame: pl.DataFrame, column: str) -> int:
    return int(frame.get_column(column).sum() or 0) if frame.height else 0


def _section(kind: str, c: Classification) -> Section:
    def pick(frame: pl.DataFrame) -> pl.DataFrame:
        return frame if kind == ALL_KINDS else frame.filter(pl.col("kind") == kind)

    chain, books, matched, breaks = pick(c.chain), pick(c.books), pick(c.matched), pick(c.breaks)
    clean = matched.filter(~pl.col("has_break"))
    tolerated = matched.filter(pl.col("amount_tolerated"))
    by_type = {t.value: Totals(0, 0) for t in BreakType}
    for btype, count, difference in breaks.group_by("break_type").agg(pl.len(), pl.col("difference").sum()).iter_rows():
        by_type[btype] = Totals(int(count), int(difference))
    explained = _sum(tolerated, "difference") + sum(t.amount for t in by_type.values())
    chain_total, books_total = _sum(chain, "amount"), _sum(books, "amount")
    return Section(
        kind=kind,
        chain=Totals(chain.height, chain_total),
        books=Totals(books.height, books_total),
        matched_count=clean.height,
        matched_chain_amount=_sum(clean, "chain_amount"),
        matched_books_amount=_sum(clean, "books_amount"),
        tolerated_count=tolerated.height,
        tolerated_difference=_sum(tolerated, "difference"),
        date_window_count=int(matched.get_column("date_tolerated").sum() or 0) if matched.height else 0,
        breaks=by_type,
        explained=explained,
        residual=chain_total - books_total - explained,
    )


def sections(c: Classification) -> tuple[Section, list[Section]]:
    """Overall and per-kind figures; raises UnexplainedResidual if any residual is not zero."""
    kinds = sorted(set(c.chain.get_column("kind").unique()) | set(c.books.get_column("kind").unique()))
    overall = _section(ALL_KINDS, c)
    per_kind = [_section(k, c) for k in kinds]
    for section in (overall, *per_kind):
        if section.residual != 0:
            raise UnexplainedResidual(
                f"{section.kind}: chain {section.chain.amount} - books {section.books.amount} - explained "
                f"{section.explained} = {section.residual} fen, not 0",
                data=section.residual,
            )
    return overall, per_kind


def decide_verdict(
    *,
    unreadable_rejects: int,
    index_lag: int | None,
    open_breaks: int,
    pending_breaks: int,
    tolerated: int,
    date_window: int,
) -> tuple[Verdict, list[str]]:
    """The verdict, first rule that applies wins:

    INCOMPLETE when books rows could not be read (rejects other than duplicate keys, which are reconciled
    as DUPLICATE breaks) or the index is behind the chain head it was asked to reach (index_lag > 0);
    BREAKS when any break found by this run is OPEN;
    RECONCILED_WITH_PENDING when the only differences are breaks someone owns (ASSIGNED) or amounts
    within tolerance or value dates within the window;
    RECONCILED otherwise: every record matched exactly.
    """
    reasons: list[str] = []
    if unreadable_rejects:
        reasons.append(f"{unreadable_rejects} books row(s) rejected")
    if index_lag:
        reasons.append(f"index is {index_lag} block(s) behind the chain head")
    if reasons:
        return Verdict.INCOMPLETE, reasons
    if open_breaks:
        return Verdict.BREAKS, [f"{open_breaks} open break(s)"]
    if pending_breaks:
        reasons.append(f"{pending_breaks} break(s) assigned and pending")
    if tolerated:
        reasons.append(f"{tolerated} amount(s) within tolerance")
    if date_window:
        reasons.append(f"{date_window} value date(s) within the window")
    if reasons:
        return Verdict.RECONCILED_WITH_PENDING, reasons
    return Verdict.RECONCILED, ["every record matched exactly"]


def age_table(breaks: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Bucket -> break type -> count, from breaks joined with their present state (`age_bucket` column)."""
    table = {bucket: {t.value: 0 for t in BreakType} for bucket in AGE_BUCKET_NAMES}
    if breaks.height:
        for bucket, btype, count in breaks.group_by("age_bucket", "break_type").agg(pl.len()).iter_rows():
            table[bucket][btype] = int(count)
    return table


def state_counts(breaks: pl.DataFrame) -> dict[str, int]:
    counts = {s.value: 0 for s in BreakState}
    if breaks.height:
        for state, count in breaks.group_by("state").agg(pl.len()).iter_rows():
            counts[state] = int(count)
    return counts
