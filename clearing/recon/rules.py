"""Matching rules: how far a key-matched pair may differ and still count as agreeing."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from clearing.errors import ReconError

BPS_DENOMINATOR = 10_000


@dataclass(frozen=True)
class MatchRules:
    """Tolerance = max(amount_abs_fen, |chain amount| * amount_rel_bps / 10,000), rounded down to whole fen.

    `date_window_days`: value dates this many days apart or fewer still agree.
    `group_by_reference`: after key matching, try 1:N and N:1 matches of leftovers sharing a reference.
    """

    amount_abs_fen: int = 0
    amount_rel_bps: int = 0
    date_window_days: int = 0
    group_by_reference: bool = True

    def __post_init__(self) -> None:
        if min(self.amount_abs_fen, self.amount_rel_bps, self.date_window_days) < 0:
            raise ReconError("tolerances and windows must be >= 0")

    def tolerance(self, chain_amount: pl.Expr) -> pl.Expr:
        """Allowed |chain - books| in fen for a pair whose chain side is `chain_amount`."""
        relative = chain_amount.abs() * self.amount_rel_bps // BPS_DENOMINATOR
        return pl.max_horizontal(pl.lit(self.amount_abs_fen, pl.Int64), relative)

    @property
    def exact(self) -> bool:
        return self.amount_abs_fen == 0 and self.amount_rel_bps == 0 and self.date_window_days == 0
