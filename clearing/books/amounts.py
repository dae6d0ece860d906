"""Money text -> int fen, exactly: a scalar path through Decimal and a vectorised polars path that agree.

Units: "fen" (integer minor units) or "yuan" (major units; at most two significant decimals, so "1.250"
from a NUMERIC(20,3) column is 125 fen but "1.255" is refused). Floats are never accepted: a value that
already went through a float may have lost a fen.
"""

from __future__ import annotations

import re
from decimal import Decimal

import polars as pl

from clearing.errors import MappingError

AMOUNT_UNITS = ("fen", "yuan")
FEN_PER_YUAN = 100
MAX_FEN_DIGITS = 18  # fits int64
MAX_YUAN_DIGITS = 16
FEN_PATTERN = rf"^[+-]?\d{{1,{MAX_FEN_DIGITS}}}$"
YUAN_PATTERN = rf"^[+-]?\d{{1,{MAX_YUAN_DIGITS}}}(?:\.\d{{1,2}}0*)?$"  # trailing zeros are exact


class AmountSyntaxError(ValueError):
    """Text that is not an exact amount in the given unit."""


def check_unit(unit: str) -> None:
    if unit not in AMOUNT_UNITS:
        raise MappingError(f"amount unit must be one of {AMOUNT_UNITS}, got {unit!r}")


def parse_amount(text: str, unit: str) -> int:
    """One amount text -> int fen via Decimal; raises AmountSyntaxError on anything inexact or malformed."""
    check_unit(unit)
    stripped = text.strip()
    if not re.fullmatch(FEN_PATTERN if unit == "fen" else YUAN_PATTERN, stripped):
        raise AmountSyntaxError(f"{text!r} is not an exact amount in {unit}")
    fen = Decimal(stripped) * (1 if unit == "fen" else FEN_PER_YUAN)
    assert fen == fen.to_integral_value(), "the pattern admits at most two decimals of yuan"
    return int(fen)


def amount_expr(text: pl.Expr, unit: str) -> pl.Expr:
    """Vectorised `parse_amount`: Int64 fen, null where the text is not an exact amount in `unit`.

    Integer arithmetic only: once the pattern holds, dropping the point leaves the amount in units of
    10^-decimals yuan, scaled to fen by x100, x10, x1 or by dividing off trailing zeros.
    """
    check_unit(unit)
    if unit == "fen":
        return pl.when(text.str.contains(FEN_PATTERN)).then(text.cast(pl.Int64, strict=False))
    dot = text.str.find(".", literal=True)
    decimals = pl.when(dot.is_null()).then(0).otherwise(text.str.len_bytes() - dot - 1)
    digits = text.str.replace(".", "", literal=True).cast(pl.Int64, strict=False)
    # beyond two decimals the pattern allows only zeros, so the integer division is exact
    scaled = (
        pl.when(decimals == 0)
        .then(digits * FEN_PER_YUAN)
        .when(decimals == 1)
        .then(digits * (FEN_PER_YUAN // 10))
        .when(decimals == 2)
        .then(digits)
        .otherwise(digits // pl.lit(10, pl.Int64).pow(decimals - 2).cast(pl.Int64))
    )
    return pl.when(text.str.contains(YUAN_PATTERN)).then(scaled)
