"""Who lends jointly with whom: per (bank, partner), the bank's balance in the loans the partner also holds.

Two strategies with the same answers, chosen by the number of banks. Up to 64 banks, a loan's member banks
are one 64-bit mask and the pairs come from a group-by over (bank, mask), with no join: on 10^6 loans about
a third of the CPU time of the self-join on loan id, which serves larger consortia.
"""

from __future__ import annotations

from typing import Protocol

import polars as pl

MAX_MASK_BANKS = 64
PAIR_SCHEMA: dict[str, pl.DataType] = {"bank": pl.Utf8(), "partner": pl.Utf8(), "exposure": pl.Int64(), "loans": pl.UInt32()}


class PairBalances(Protocol):
    def totals(self) -> pl.DataFrame:
        """bank, partner, exposure (sum of the bank's balances), loans (how many), sorted by bank and partner."""
        ...

    def rows(self, bank: str, partner: str) -> pl.DataFrame:
        """The bank's tranches with a balance in loans the partner also holds (the tranche columns)."""
        ...


def pair_balances(joint: pl.DataFrame) -> PairBalances:
    """The strategy for `joint` (tranches of loans with two or more banks)."""
    banks = sorted(joint.get_column("bank").unique().to_list())
    return MaskPairs(joint, banks) if len(banks) <= MAX_MASK_BANKS else JoinPairs(joint)


def _totals(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(list(PAIR_SCHEMA)).cast(PAIR_SCHEMA).sort("bank", "partner")  # type: ignore[arg-type]


class MaskPairs:
    """Each funded tranche carries its loan's member mask; a pair (B, P) is B's tranches whose mask has P."""

    def __init__(self, joint: pl.DataFrame, banks: list[str]) -> None:
        if len(banks) > MAX_MASK_BANKS:
            raise ValueError(f"a mask holds {MAX_MASK_BANKS} banks, got {len(banks)}")
        self.bits = {bank: 1 << i for i, bank in enumerate(banks)}
        bit = pl.col("bank").replace_strict(self.bits, return_dtype=pl.UInt64)
        # a bank holds at most one tranche per loan, so the sum of the bits is their union
        self.funded = joint.with_columns(_mask=bit.sum().over("loan_id")).filter(pl.col("outstanding") > 0)

    def _has(self, partner: str) -> pl.Expr:
        return (pl.col("_mask") & pl.lit(self.bits[partner], pl.UInt64)) != 0

    def totals(self) -> pl.DataFrame:
        grouped = self.funded.group_by("bank", "_mask").agg(
            pl.col("outstanding").sum().alias("exposure"), pl.len().alias("loans")
        )
        parts = [
            grouped.filter(self._has(partner) & (pl.col("bank") != partner))
            .group_by("bank")
            .agg(pl.col("exposure").sum(), pl.col("loans").sum())
            .with_columns(partner=pl.lit(partner))
            for partner in self.bits
        ]
        return _totals(pl.concat(parts)) if parts else pl.DataFrame(schema=PAIR_SCHEMA)

    def rows(self, bank: str, partner: str) -> pl.DataFrame:
        return self.funded.filter((pl.col("bank") == bank) & self._has(partner)).drop("_mask")


class JoinPairs:
    """Each funded tranche joined with the other banks of its loan."""

    def __init__(self, joint: pl.DataFrame) -> None:
        funded = joint.filter(pl.col("outstanding") > 0)
        members = joint.select("loan_id", pl.col("bank").alias("partner"))
        self.with_partner = funded.join(members, on="loan_id").filter(pl.col("bank") != pl.col("partner"))

    def totals(self) -> pl.DataFrame:
        grouped = self.with_partner.group_by("bank", "partner").agg(
            pl.col("outstanding").sum().alias("exposure"), pl.len().alias("loans")
        )
        return _totals(grouped)

    def rows(self, bank: str, partner: str) -> pl.DataFrame:
        return self.with_partner.filter((pl.col("bank") == bank) & (pl.col("partner") == partner)).drop("partner")
