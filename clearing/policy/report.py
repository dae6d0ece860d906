"""`report(store)`: the regulator's exposure and limit view, read from a query index and nothing else."""

from __future__ import annotations

import polars as pl

from clearing.indexer.store import IndexStore
from clearing.policy.exposure import MAX_LOANS_LISTED, TRANCHE_SCHEMA, compute_exposures
from clearing.policy.limits import Limits
from clearing.policy.model import DeclaredFigures, ExposureReport
from clearing.records import TIER1_NET_CAPITAL, TOTAL_LOANS, RecordKind

DEFAULT_CURRENCY = "CNY"


def report(
    store: IndexStore,
    *,
    limits: Limits | None = None,
    currency: str = DEFAULT_CURRENCY,
    max_loans: int | None = MAX_LOANS_LISTED,
) -> ExposureReport:
    """Every bank's joint-lending exposures against the limits, from the index's tranches and declared figures.

    Each breach lists its `max_loans` largest loans (None: all of them) and sums up the rest.
    """
    index_block = store.last_block()
    tranche_parts: list[pl.DataFrame] = []
    figures: dict[str, DeclaredFigures] = {}
    skipped = 0
    for bank in store.banks():
        frame = store.bank_frame(bank)
        tranches = frame.filter(pl.col("kind") == RecordKind.LOAN_TRANCHE.value)
        in_currency = tranches.filter(pl.col("currency") == currency)
        skipped += tranches.height - in_currency.height
        tranche_parts.append(
            in_currency.select(
                "loan_id",
                "bank",
                pl.coalesce("counterparty", "bank").alias("servicer"),  # the servicer's own tranche has no counterparty
                pl.col("amount").alias("outstanding"),
            )
        )
        declared = declared_figures(bank, frame)
        if declared is not None:
            figures[bank] = declared
    tranches = pl.concat(tranche_parts) if tranche_parts else pl.DataFrame(schema=TRANCHE_SCHEMA)
    return compute_exposures(
        tranches,
        figures,
        limits=limits,
        currency=currency,
        index_block=index_block,
        skipped_tranches=skipped,
        max_loans=max_loans,
    )


def declared_figures(bank: str, frame: pl.DataFrame) -> DeclaredFigures | None:
    """The bank's latest declaration from its records; None unless both figures are there."""
    rows = {row["key"]: row for row in frame.filter(pl.col("kind") == RecordKind.DECLARED_FIGURE.value).iter_rows(named=True)}
    if TIER1_NET_CAPITAL not in rows or TOTAL_LOANS not in rows:
        return None
    tier1, total = rows[TIER1_NET_CAPITAL], rows[TOTAL_LOANS]
    return DeclaredFigures(bank, tier1["amount"], total["amount"], max(tier1["value_date"], total["value_date"]))
