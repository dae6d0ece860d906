"""Exposures from tranche balances and declared figures: the pure core of the regulator's limit views.

Definitions, after the 2021 notice on commercial banks' internet loans (《关于进一步规范商业银行互联网贷款
业务的通知》, CBIRC 2021 No. 24), in this product's platform model (a servicing platform bank and partner
banks fund tranches of one loan):
- A *joint loan* is a loan with tranches of two or more banks; a loan one bank funds alone is not joint.
- A bank B's *joint internet lending* is B's outstanding principal across its tranches of joint loans.
  Rule JOINT_TOTAL_LOANS: it must not exceed 50% of B's declared total loans (notice, item 3: jointly funded
  internet loans with all cooperating parties <= 50% of the bank's total loan balance).
- For banks B != P, B's *balance with partner P* is B's outstanding principal in the joint loans in which P
  also holds a tranche. Rule PARTNER_TIER1: it must not exceed 25% of B's declared tier-1 net capital
  (notice, item 3: loans jointly funded with a single cooperating party <= 25% of tier-1 net capital).
  The pair is directed: (B, P) uses B's money and B's capital. In a loan of three or more banks B's tranche
  counts towards each of its partners, since B lends jointly with each of them; the partner of a funder
  includes the servicer, the cooperating party the notice names, and the servicer's partners are its funders.
- Balances are outstanding principal (LOAN_TRANCHE amounts) in the report's currency; paid-off and
  written-off tranches have none. A partner appears once it shares a loan with a non-zero balance of B's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import polars as pl

from clearing.errors import InvalidLimit
from clearing.policy.limits import Limits, exceeds
from clearing.policy.membership import pair_balances
from clearing.policy.model import (
    BankExposure,
    CheckStatus,
    DeclaredFigures,
    ExposureReport,
    LimitCheck,
    LoanContribution,
    Rule,
)

MAX_LOANS_LISTED = 1_000  # per breach: the largest loans by balance; the rest are summed up
TRANCHE_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "bank": pl.Utf8(),
    "servicer": pl.Utf8(),
    "outstanding": pl.Int64(),
}


@dataclass(frozen=True)
class TranchePosition:
    """One bank's tranche of one loan and its outstanding principal in fen."""

    loan_id: str
    bank: str
    servicer: str
    outstanding: int


def tranche_frame(positions: Iterable[TranchePosition]) -> pl.DataFrame:
    rows = [(p.loan_id, p.bank, p.servicer, p.outstanding) for p in positions]
    return pl.DataFrame(rows, schema=list(TRANCHE_SCHEMA.items()), orient="row")


def status_of(exposure: int, base: int | None, limit_bps: int) -> CheckStatus:
    if base is None:
        return CheckStatus.UNDECLARED
    return CheckStatus.BREACH if exceeds(exposure, base, limit_bps) else CheckStatus.PASS


def compute_exposures(
    tranches: pl.DataFrame,
    figures: Mapping[str, DeclaredFigures],
    *,
    limits: Limits | None = None,
    currency: str = "CNY",
    index_block: int | None = None,
    skipped_tranches: int = 0,
    max_loans: int | None = MAX_LOANS_LISTED,
) -> ExposureReport:
    """The report for tranches (TRANCHE_SCHEMA, one row per loan and bank) and each bank's declared figures.

    Each breach lists its `max_loans` largest loans (all with None) and sums up the rest.
    """
    limits = limits or Limits()
    if max_loans is not None and max_loans < 0:
        raise InvalidLimit(f"max_loans must be >= 0, got {max_loans}", data=max_loans)
    tranches = tranches.select(list(TRANCHE_SCHEMA)).cast(TRANCHE_SCHEMA)  # type: ignore[arg-type]
    joint = tranches.filter(pl.len().over("loan_id") >= 2)
    funded = joint.filter(pl.col("outstanding") > 0)
    pair_source = pair_balances(joint)

    bank_rows = funded.group_by("bank").agg(pl.col("outstanding").sum().alias("exposure"), pl.len().alias("loans"))
    totals = {bank: (exposure, loans) for bank, exposure, loans in bank_rows.iter_rows()}
    pairs: dict[str, list[tuple[str, int, int]]] = {}
    for bank, partner, exposure, loans in pair_source.totals().iter_rows():
        pairs.setdefault(bank, []).append((partner, exposure, loans))

    banks = []
    for bank in sorted(set(totals) | set(figures)):
        declared = figures.get(bank)
        exposure, loans = totals.get(bank, (0, 0))
        total_loans = None if declared is None else declared.total_loans
        joint_check = _check(
            LimitCheck(Rule.JOINT_TOTAL_LOANS, bank, None, exposure, loans, total_loans, limits.joint_lending_bps,
                       status_of(exposure, total_loans, limits.joint_lending_bps)),
            lambda b=bank: funded.filter(pl.col("bank") == b), max_loans,
        )  # fmt: skip
        tier1 = None if declared is None else declared.tier1_net_capital
        partner_checks = tuple(
            _check(
                LimitCheck(Rule.PARTNER_TIER1, bank, partner, amount, count, tier1, limits.partner_bps,
                           status_of(amount, tier1, limits.partner_bps)),
                lambda b=bank, p=partner: pair_source.rows(b, p), max_loans,
            )
            for partner, amount, count in pairs.get(bank, [])
        )  # fmt: skip
        banks.append(BankExposure(bank, declared, joint_check, partner_checks))
    return ExposureReport(currency, index_block, limits, tuple(banks), skipped_tranches)


def _check(check: LimitCheck, rows: Callable[[], pl.DataFrame], max_loans: int | None) -> LimitCheck:
    """The check, with the loans behind it when it is a breach (`rows` is only read then)."""
    if check.status is not CheckStatus.BREACH:
        return check
    listed = _contributions(rows(), max_loans)
    listed_total = sum(c.outstanding for c in listed)
    return replace(
        check,
        contributions=listed,
        unlisted_loans=check.loan_count - len(listed),
        unlisted_outstanding=check.exposure - listed_total,
    )


def _contributions(rows: pl.DataFrame, max_loans: int | None) -> tuple[LoanContribution, ...]:
    """The largest loans behind an exposure, largest balance first (ties by loan id, so the order is stable)."""
    ordered = rows.sort(["outstanding", "loan_id"], descending=[True, False])
    if max_loans is not None:
        ordered = ordered.head(max_loans)
    columns = (ordered.get_column(name).to_list() for name in ("loan_id", "servicer", "outstanding"))
    return tuple(map(LoanContribution, *columns))
