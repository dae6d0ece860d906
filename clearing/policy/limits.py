"""The limits of the 2021 notice on commercial banks' internet loans, and the exact rule that checks them.

A limit is an integer number of basis points of a base (tier-1 net capital, total loans). "Must not exceed"
means an exposure exactly at the limit passes: breach iff exposure * 10,000 > base * limit_bps, compared in
integers so that no rounding can move a bank across the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from clearing.errors import InvalidLimit

BPS = 10_000
PARTNER_LIMIT_BPS = 2_500  # one cooperating party: <= 25% of the bank's tier-1 net capital
JOINT_LENDING_LIMIT_BPS = 5_000  # all joint internet lending: <= 50% of the bank's total loans


@dataclass(frozen=True)
class Limits:
    """The two monitored limits; override for a stricter internal appetite or a changed notice."""

    partner_bps: int = PARTNER_LIMIT_BPS
    joint_lending_bps: int = JOINT_LENDING_LIMIT_BPS

    def __post_init__(self) -> None:
        for name in ("partner_bps", "joint_lending_bps"):
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= BPS:
                raise InvalidLimit(f"{name} must be an integer 0..{BPS} basis points, got {value!r}", data=value)


def limit_amount(base: int, limit_bps: int) -> int:
    """The largest exposure in fen that keeps within `limit_bps` of `base`."""
    return base * limit_bps // BPS


def exceeds(exposure: int, base: int, limit_bps: int) -> bool:
    """True when `exposure` is more than `limit_bps` of `base`; exactly at the limit is within it."""
    return exposure * BPS > base * limit_bps


def ratio(exposure: int, base: int) -> Fraction | None:
    """exposure / base exactly; None when the base is zero (nothing to compare against)."""
    return None if base == 0 else Fraction(exposure, base)
