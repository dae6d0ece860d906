"""What the policy views report: typed, immutable, money in int fen, ratios as exact Fractions.

`to_dict()` gives the JSON shape the API and the CLI print: amounts as int fen, dates ISO, the ratio as
exact text ("n/d") and as basis points rounded to two places for display only (decisions use `status`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple

from clearing.policy.limits import BPS, Limits, limit_amount, ratio


class Rule(StrEnum):
    PARTNER_TIER1 = "PARTNER_TIER1"  # bank's joint balance with one partner vs 25% of its tier-1 net capital
    JOINT_TOTAL_LOANS = "JOINT_TOTAL_LOANS"  # bank's joint internet lending vs 50% of its total loans


class CheckStatus(StrEnum):
    PASS = "PASS"
    BREACH = "BREACH"
    UNDECLARED = "UNDECLARED"  # the bank has declared no figures: neither pass nor breach can be said


@dataclass(frozen=True)
class DeclaredFigures:
    """A bank's latest declaration on chain (CoLending.declareFigures), as of a date."""

    bank: str
    tier1_net_capital: int
    total_loans: int
    as_of: dt.date

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "tier1_net_capital_fen": self.tier1_net_capital,
            "total_loans_fen": self.total_loans,
            "as_of": self.as_of.isoformat(),
        }


class LoanContribution(NamedTuple):
    """One loan's part of an exposure: the checked bank's outstanding principal in it.

    A NamedTuple, not a frozen dataclass: a breach over a large book lists 10^5+ loans, and tuples are built
    several times faster.
    """

    loan_id: str
    servicer: str
    outstanding: int

    def to_dict(self) -> dict[str, Any]:
        return {"loan_id": self.loan_id, "servicer": self.servicer, "outstanding_fen": self.outstanding}


@dataclass(frozen=True)
class LimitCheck:
    """One exposure against one limit.

    For breaches only, `contributions` lists the loans behind the exposure, largest first, up to the report's
    `max_loans`; `unlisted_loans` and `unlisted_outstanding` sum up the rest, so the parts add up to `exposure`.
    """

    rule: Rule
    bank: str
    partner: str | None  # the cooperating partner for PARTNER_TIER1, None for JOINT_TOTAL_LOANS
    exposure: int
    loan_count: int  # loans with a non-zero balance in the exposure
    base: int | None  # tier-1 net capital or total loans in fen; None when undeclared
    limit_bps: int
    status: CheckStatus
    contributions: tuple[LoanContribution, ...] = ()
    unlisted_loans: int = 0
    unlisted_outstanding: int = 0

    @property
    def limit_amount(self) -> int | None:
        return None if self.base is None else limit_amount(self.base, self.limit_bps)

    @property
    def headroom(self) -> int | None:
        """Fen left before the limit; negative by how much a breach exceeds it."""
        limit = self.limit_amount
        return None if limit is None else limit - self.exposure

    @property
    def ratio(self) -> Fraction | None:
        return None if self.base is None else ratio(self.exposure, self.base)

    def to_dict(self, *, with_loans: bool = True) -> dict[str, Any]:
        exact = self.ratio
        out: dict[str, Any] = {
            "rule": self.rule.value,
            "bank": self.bank,
            "partner": self.partner,
            "status": self.status.value,
            "exposure_fen": self.exposure,
            "loan_count": self.loan_count,
            "base_fen": self.base,
            "limit_bps": self.limit_bps,
            "limit_fen": self.limit_amount,
            "headroom_fen": self.headroom,
            "ratio": None if exact is None else f"{exact.numerator}/{exact.denominator}",
            "ratio_bps": None if exact is None else bps_text(exact),
        }
        if with_loans:
            out["loans"] = [c.to_dict() for c in self.contributions]
            out["unlisted"] = {"loans": self.unlisted_loans, "outstanding_fen": self.unlisted_outstanding}
        return out


@dataclass(frozen=True)
class BankExposure:
    """One bank: its declared figures, its joint lending check and one check per cooperating partner."""

    bank: str
    figures: DeclaredFigures | None
    joint_lending: LimitCheck
    partners: tuple[LimitCheck, ...]  # by partner id

    @property
    def checks(self) -> tuple[LimitCheck, ...]:
        return (self.joint_lending, *self.partners)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "figures": None if self.figures is None else self.figures.to_dict(),
            "joint_lending": self.joint_lending.to_dict(with_loans=False),
            "partners": [p.to_dict(with_loans=False) for p in self.partners],
        }


@dataclass(frozen=True)
class ExposureReport:
    """Every bank's exposures and limit checks as of one index block."""

    currency: str
    index_block: int | None  # the last block the index had applied; None for an empty index
    limits: Limits
    banks: tuple[BankExposure, ...]  # by bank id
    skipped_tranches: int = 0  # tranches in another currency than `currency`, left out of every figure

    @property
    def checks(self) -> tuple[LimitCheck, ...]:
        return tuple(check for bank in self.banks for check in bank.checks)

    @property
    def breaches(self) -> tuple[LimitCheck, ...]:
        """Breached checks, the largest excess over its limit first."""
        found = [c for c in self.checks if c.status is CheckStatus.BREACH]
        return tuple(sorted(found, key=lambda c: (c.headroom or 0, c.rule.value, c.bank, c.partner or "")))

    @property
    def undeclared(self) -> tuple[str, ...]:
        return tuple(b.bank for b in self.banks if b.figures is None)

    def bank(self, bank: str) -> BankExposure | None:
        return next((b for b in self.banks if b.bank == bank), None)

    def pair(self, bank: str, partner: str) -> LimitCheck | None:
        found = self.bank(bank)
        return None if found is None else next((p for p in found.partners if p.partner == partner), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "index_block": self.index_block,
            "limits": {"partner_tier1_bps": self.limits.partner_bps, "joint_total_loans_bps": self.limits.joint_lending_bps},
            "skipped_tranches": self.skipped_tranches,
            "undeclared": list(self.undeclared),
            "breaches": [c.to_dict() for c in self.breaches],  # with their loans; "banks" leaves them out
            "banks": [b.to_dict() for b in self.banks],
        }


def bps_text(value: Fraction) -> str:
    """A ratio in basis points with two decimals, rounded half up, for display."""
    scaled = Decimal(value.numerator * BPS) / Decimal(value.denominator)
    return str(scaled.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
