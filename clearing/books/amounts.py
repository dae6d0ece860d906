"""Money text -> int fen, exactly: a scalar path through Decimal and a vectorised polars path that agree.

Units: "fen" (integer minor units) or "yuan" (major units with at most two decimals). Floats are never
accepted: a value that already went through a float may have lost a fen.
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
YUAN_PATTERN = rf"^([+-]?)(\d{{1,{MAX_YUAN_DIGITS}}})(?:\.(\d{{1,2}}))?$"


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
    """Vectorised `parse_amount`: Int64 fen, null where the text is not an exact amount in `unit`."""
    check_unit(unit)
    stripped = text.str.strip_chars()
    if unit == "fen":
        return pl.when(stripped.str.contains(FEN_PATTERN)).then(stripped.cast(pl.Int64, strict=False))
    parts = stripped.str.extract_groups(YUAN_PATTERN)
    sign = pl.when(parts.struct.field("1") == "-").then(-1).otherwise(1)
    whole = parts.struct.field("2").cast(pl.Int64, strict=False)
    cents = parts.struct.field("3").fill_null("0").str.pad_end(2, "0").cast(pl.Int64, strict=False)
    return sign * (whole * FEN_PER_YUAN + cents)
