"""Money on screen: integer fen shown as yuan, by integer arithmetic only (the ledger never holds a float)."""

from __future__ import annotations


def fen(amount: int | None) -> str:
    """Int fen as yuan text with thousands separators, e.g. -123456 -> '-1,234.56'; None -> ''."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{cents:02d}"
