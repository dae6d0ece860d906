"""A day of joint lending, as the servicing banks post it: pure, integer fen, the same for the same seed.

The platform model of internet co-lending: a platform bank originates and services each loan and funds a
slice of it (30-50%, the notice's floor for the cooperating party); one or two partner banks fund the rest.
The consortium goes live on Colend today: each servicer posts its open loans (drawn on their original value
dates), the instalments collected since (some late, with a penalty), today's early payoffs and write-offs of
defaulted loans, and today's new disbursements. Each partner then posts the servicing fee it owes each
platform for the month, and every bank declares its tier-1 net capital and total loans for the regulator's
limit checks. Everything lands in one clearing cycle, which the banks clear at the end of the day.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
from typing import Any

from contracts.ids import bank_id, borrower_hash, text_id

BANKS = ("WEBANK", "MYBANK", "XWBANK", "HRBANK")
REGULATOR = "REGULATOR"
AS_OF = dt.date(2026, 11, 24)
BPS = 10_000
SERVICER_SHARES_BPS = (3_000, 3_500, 4_000, 4_500, 5_000)  # >= 30%: the servicer is the cooperating party
MIN_PARTNER_SHARE_BPS = 3_000  # the demo gives partners >= 30% too; the contract asks >= 1 bps (governance may raise it)
ANNUAL_RATES_BPS = (720, 900, 1_080, 1_440, 1_800)  # 7.2% to 18% a year
TERM_MONTHS = 12
MAX_AGE_MONTHS = 6
LATE_PENALTY_BPS_PER_DAY = 5  # 0.05% a day on the overdue instalment
SERVICING_FEE_BPS = 30  # 0.3% of the partner's funded principal, monthly
ENTRY_KIND_FEE = 2  # Clearing.EntryKind.FEE
TERMS_HASH = b"\x22" * 32  # hash of the standard loan contract document
DEFAULT_TIER1_MULTIPLE = 50  # tenths: tier-1 net capital = 5x the largest single-partner balance
TIER1_MULTIPLE = {"HRBANK": 35}  # 3.5x: past the 25% single-partner limit
TOTAL_LOANS_MULTIPLE = 20  # joint lending = 5% of total loans
FIGURE_ROUNDING_FEN = 1_000_000  # declared figures in whole 10,000 yuan
FIGURE_FLOOR_FEN = 10_000_000
# what happens to loan n, by n % 8: disbursed today, paid off early today, written off today, or on schedule
FATES = ("ON_SCHEDULE", "NEW", "PAYOFF", "ON_SCHEDULE", "ON_SCHEDULE", "DEFAULT", "ON_SCHEDULE", "NEW")


@dataclass(frozen=True)
class Tranche:
    bank: str
    share_bps: int


@dataclass(frozen=True)
class Repayment:
    op_id: str
    principal: int
    interest: int
    penalty: int
    value_date: dt.date
    payoff: bool = False

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty


@dataclass(frozen=True)
class WriteOff:
    op_id: str
    amount: int
    value_date: dt.date


@dataclass(frozen=True)
class Loan:
    """One joint loan and everything that happened to it up to today, in order."""

    loan_id: str
    servicer: str
    principal: int
    annual_rate_bps: int
    tranches: tuple[Tranche, ...]
    drawdown_id: str
    drawn_on: dt.date
    repayments: tuple[Repayment, ...] = ()
    write_off: WriteOff | None = None

    @property
    def outstanding(self) -> int:
        repaid = sum(r.principal for r in self.repayments)
        return self.principal - repaid - (self.write_off.amount if self.write_off else 0)

    @property
    def status(self) -> str:
        if self.write_off is not None:
            return "WRITTEN_OFF"
        if self.repayments and self.repayments[-1].payoff:
            return "PAID_OFF"
        return "ACTIVE"


@dataclass(frozen=True)
class Fee:
    entry_id: str
    payer: str
    payee: str
    amount: int
    value_date: dt.date
    ref: str


@dataclass(frozen=True)
class Figures:
    """What a bank declares on chain for the regulator's limit checks: tier-1 net capital and total loans."""

    bank: str
    tier1_net_capital: int
    total_loans: int
    as_of: dt.date


@dataclass(frozen=True)
class LendingDay:
    seed: int
    as_of: dt.date
    loans: tuple[Loan, ...]
    fees: tuple[Fee, ...] = field(default=())

    def serviced_by(self, bank: str) -> list[Loan]:
        return [loan for loan in self.loans if loan.servicer == bank]

    def fees_paid_by(self, bank: str) -> list[Fee]:
        return [fee for fee in self.fees if fee.payer == bank]

    @property
    def servicers(self) -> list[str]:
        return [b for b in BANKS if self.serviced_by(b)]

    def partner_balances(self) -> dict[tuple[str, str], int]:
        """(bank, partner) -> the bank's outstanding principal in loans it shares with the partner (pro rata)."""
        balances: dict[tuple[str, str], int] = {}
        for loan in self.loans:
            for t in loan.tranches:
                for other in loan.tranches:
                    if other.bank != t.bank:
                        pair = (t.bank, other.bank)
                        balances[pair] = balances.get(pair, 0) + loan.outstanding * t.share_bps // BPS
        return balances

    def declared_figures(self) -> list[Figures]:
        """Each bank's declaration, sized to the day's portfolio (a demo consortium is small) so the limits bite.

        Joint lending comes to about 5% of each bank's total loans (tier-1 capital then is about a tenth of
        them, as at real banks); its largest single-partner balance to about 20% of its tier-1 net capital,
        except at HRBANK, a small bank, which runs past its 25% limit.
        """
        balances = self.partner_balances()
        figures = []
        for bank in BANKS:
            joint = sum(t.share_bps * loan.outstanding // BPS for loan in self.loans for t in loan.tranches if t.bank == bank)
            largest = max((v for (b, _), v in balances.items() if b == bank), default=0)
            multiple = TIER1_MULTIPLE.get(bank, DEFAULT_TIER1_MULTIPLE)
            tier1 = _round_up(max(largest * multiple // 10, FIGURE_FLOOR_FEN), FIGURE_ROUNDING_FEN)
            total = _round_up(max(joint * TOTAL_LOANS_MULTIPLE, FIGURE_FLOOR_FEN), FIGURE_ROUNDING_FEN)
            figures.append(Figures(bank, tier1, total, self.as_of))
        return figures


def plan_day(loans: int, seed: int, *, as_of: dt.date = AS_OF) -> LendingDay:
    """`loans` joint loans (about three in four serviced by WEBANK, the rest by MYBANK) and their movements."""
    if loans < 1:
        raise ValueError("a day needs at least one loan")
    rng = random.Random(seed)
    planned = tuple(_plan_loan(rng, n, as_of) for n in range(loans))
    return LendingDay(seed=seed, as_of=as_of, loans=planned, fees=_fees(planned, as_of))


def _plan_loan(rng: random.Random, n: int, as_of: dt.date) -> Loan:
    servicer = "MYBANK" if n % 4 == 3 else "WEBANK"
    loan_id = f"LN-{servicer}-{n + 1:06d}"
    principal = rng.randrange(30, 501) * 10_000  # 3,000 to 50,000 yuan in whole hundreds
    rate = rng.choice(ANNUAL_RATES_BPS)
    fate = FATES[n % len(FATES)]
    age = 0 if fate == "NEW" else rng.randrange(3 if fate == "DEFAULT" else 1, MAX_AGE_MONTHS + 1)
    drawn_on = _months_before(as_of, age)
    tranches = _tranches(rng, servicer)
    base = Loan(loan_id, servicer, principal, rate, tranches, f"DD-{servicer}-{n + 1:06d}", drawn_on)
    if fate == "DEFAULT":
        return _defaulted(rng, base, as_of)
    if fate == "PAYOFF":
        repayments = _instalments(rng, base, age - 1, as_of)
        repayments.append(_payoff(base, repayments, as_of))
    else:
        repayments = _instalments(rng, base, age, as_of)
    return replace(base, repayments=tuple(repayments))


def _tranches(rng: random.Random, servicer: str) -> tuple[Tranche, ...]:
    """The servicer funds 30-50%; one partner the rest, or two partners of at least 30% each."""
    partners = [b for b in BANKS if b != servicer]
    own = rng.choice(SERVICER_SHARES_BPS)
    rest = BPS - own
    if rest >= 2 * MIN_PARTNER_SHARE_BPS and rng.random() < 0.5:
        first, second = rng.sample(partners, 2)
        split = rng.randrange(MIN_PARTNER_SHARE_BPS, rest - MIN_PARTNER_SHARE_BPS + 1, 500)
        return (Tranche(servicer, own), Tranche(first, split), Tranche(second, rest - split))
    return (Tranche(servicer, own), Tranche(rng.choice(partners), rest))


def _instalments(rng: random.Random, loan: Loan, paid: int, as_of: dt.date) -> list[Repayment]:
    """Monthly instalments 1..paid: equal principal plus a month's interest; a few paid late with a penalty."""
    outstanding = loan.principal
    monthly = loan.principal // TERM_MONTHS
    out = []
    for k in range(1, paid + 1):
        due = _months_after(loan.drawn_on, k)
        interest = outstanding * loan.annual_rate_bps // (BPS * 12)
        late = min(rng.randrange(1, 10), (as_of - due).days) if rng.random() < 0.15 else 0
        penalty = (monthly + interest) * LATE_PENALTY_BPS_PER_DAY * late // BPS
        op = f"RP-{loan.loan_id[3:]}-{k:02d}"
        out.append(Repayment(op, monthly, interest, penalty, due + dt.timedelta(days=late)))
        outstanding -= monthly
    return out


def _payoff(loan: Loan, repayments: list[Repayment], as_of: dt.date) -> Repayment:
    """Early repayment today, in place of today's instalment: all outstanding principal and a month's interest."""
    outstanding = loan.principal - sum(r.principal for r in repayments)
    last = _months_after(loan.drawn_on, len(repayments))
    days = (as_of - last).days
    interest = outstanding * loan.annual_rate_bps * days // (BPS * 365)
    return Repayment(f"PO-{loan.loan_id[3:]}", outstanding, interest, 0, as_of, payoff=True)


def _defaulted(rng: random.Random, loan: Loan, as_of: dt.date) -> Loan:
    """A borrower who paid one or two instalments, then stopped: today the servicer writes the loan off."""
    repayments = _instalments(rng, loan, rng.randrange(1, 3), as_of)
    outstanding = loan.principal - sum(r.principal for r in repayments)
    write_off = WriteOff(f"WO-{loan.loan_id[3:]}", outstanding, as_of)
    return replace(loan, repayments=tuple(repayments), write_off=write_off)


def _fees(loans: tuple[Loan, ...], as_of: dt.date) -> tuple[Fee, ...]:
    """Each partner pays each platform a monthly servicing fee on the principal it funded on its loans."""
    funded: dict[tuple[str, str], int] = {}
    for loan in loans:
        for t in loan.tranches:
            if t.bank != loan.servicer:
                pair = (t.bank, loan.servicer)
                funded[pair] = funded.get(pair, 0) + loan.principal * t.share_bps // BPS
    month = f"{as_of:%Y%m}"
    return tuple(
        Fee(f"FEE-{month}-{payer}-{payee}", payer, payee, amount * SERVICING_FEE_BPS // BPS, as_of, f"SVC-FEE-{month}")
        for (payer, payee), amount in sorted(funded.items())
        if amount * SERVICING_FEE_BPS // BPS > 0
    )


def _round_up(amount: int, unit: int) -> int:
    return -(-amount // unit) * unit


def _months_after(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, min(day.day, 28))


def _months_before(day: dt.date, months: int) -> dt.date:
    return _months_after(day, -months)


# ---------------------------------------------------------------------------------------------- contract inputs


def yyyymmdd(day: dt.date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def loan_input(loan: Loan) -> dict[str, Any]:
    """CoLending.LoanInput; the borrower is only a salted hash, the salt stays with the servicer."""
    return {
        "loanId": text_id(loan.loan_id), "servicer": bank_id(loan.servicer), "currency": b"CNY",
        "principal": loan.principal, "borrowerHash": borrower_hash(f"{loan.servicer}-borrower-salt".encode(), loan.loan_id),
        "termsHash": TERMS_HASH, "tranches": [{"bank": bank_id(t.bank), "shareBps": t.share_bps} for t in loan.tranches],
    }  # fmt: skip


def drawdown_input(loan: Loan) -> dict[str, Any]:
    return {"loanId": text_id(loan.loan_id), "drawdownId": text_id(loan.drawdown_id), "amount": loan.principal,
            "valueDate": yyyymmdd(loan.drawn_on)}  # fmt: skip


def repayment_input(loan: Loan, r: Repayment) -> dict[str, Any]:
    return {"loanId": text_id(loan.loan_id), "repaymentId": text_id(r.op_id), "principal": r.principal,
            "interest": r.interest, "penalty": r.penalty, "valueDate": yyyymmdd(r.value_date)}  # fmt: skip


def fee_input(fee: Fee) -> dict[str, Any]:
    """Clearing.EntryInput: the payer posts what it owes (nobody creates debts for others)."""
    return {"entryId": text_id(fee.entry_id), "payer": bank_id(fee.payer), "payee": bank_id(fee.payee),
            "amount": fee.amount, "kind": ENTRY_KIND_FEE, "loanId": b"\0" * 32,
            "valueDate": yyyymmdd(fee.value_date), "ref": text_id(fee.ref)}  # fmt: skip
