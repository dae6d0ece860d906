"""The day of joint lending: deterministic, within the rules the banks co-lend under, and accepted by the contracts."""

from __future__ import annotations

import pytest

from colend.demo.day import BANKS, BPS, MIN_PARTNER_SHARE_BPS, plan_day
from colend.demo.posting import post_day
from contracts.ids import text_id

LOAN_STATUS = {2: "ACTIVE", 3: "PAID_OFF", 4: "WRITTEN_OFF"}


def test_the_same_seed_gives_the_same_day_and_another_seed_another() -> None:
    assert plan_day(16, 5) == plan_day(16, 5)
    assert plan_day(16, 5) != plan_day(16, 6)


@pytest.mark.parametrize("seed", [1, 2, 3, 20261124])
def test_loans_follow_the_platform_model(seed: int) -> None:
    day = plan_day(40, seed)
    for loan in day.loans:
        shares = {t.bank: t.share_bps for t in loan.tranches}
        assert sum(shares.values()) == BPS
        assert 3_000 <= shares[loan.servicer] <= 5_000, "the servicer funds 30-50% of each loan"
        assert all(s >= MIN_PARTNER_SHARE_BPS for b, s in shares.items() if b != loan.servicer)
        assert 300_000 <= loan.principal <= 5_000_000, "a few thousand to tens of thousands of yuan, in fen"
        assert all(type(x) is int for r in loan.repayments for x in (r.principal, r.interest, r.penalty))
        assert loan.outstanding >= 0
        dates = [loan.drawn_on, *(r.value_date for r in loan.repayments)]
        assert dates == sorted(dates) and dates[-1] <= day.as_of
    servicers = [loan.servicer for loan in day.loans]
    assert servicers.count("WEBANK") > servicers.count("MYBANK") > 0


def test_a_day_has_every_kind_of_movement() -> None:
    day = plan_day(8, 11)
    statuses = {loan.status for loan in day.loans}
    assert {"ACTIVE", "PAID_OFF", "WRITTEN_OFF"} <= statuses
    assert any(loan.drawn_on == day.as_of for loan in day.loans), "a loan disbursed today"
    assert any(r.penalty for loan in plan_day(24, 11).loans for r in loan.repayments), "a late instalment with a penalty"
    assert day.fees and all(f.payer != f.payee and f.amount > 0 for f in day.fees)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        plan_day(0, 1)


def test_the_contracts_accept_the_whole_day_and_agree_with_it(evm_sessions) -> None:
    suite, sessions = evm_sessions
    day = plan_day(16, 3)
    posted = post_day(day, {b: sessions[b] for b in BANKS})
    assert sum(p.count("LoanRegistered") for p in posted.values()) == len(day.loans)
    assert sum(p.count("EntryPosted") for p in posted.values()) > len(day.loans)
    for loan in day.loans:
        _servicer, _principal, _drawn, outstanding, status, *_ = suite.call("CoLending", "loan", text_id(loan.loan_id))
        assert (outstanding, LOAN_STATUS[status]) == (loan.outstanding, loan.status)
    fee = day.fees[0]
    assert suite.call("Clearing", "entryHash", text_id(fee.entry_id)) != b"\0" * 32
    for figures in day.declared_figures():
        declared = suite.call("CoLending", "figures", text_id(figures.bank))
        assert tuple(declared) == (figures.tier1_net_capital, figures.total_loans, 20261124)


def test_declared_figures_put_one_small_bank_past_its_single_partner_limit() -> None:
    day = plan_day(24, 20261124)
    balances = day.partner_balances()
    for figures in day.declared_figures():
        largest = max(v for (bank, _), v in balances.items() if bank == figures.bank)
        over = largest * 10_000 > figures.tier1_net_capital * 2_500
        assert over == (figures.bank == "HRBANK"), figures
        assert figures.tier1_net_capital % 1_000_000 == 0 and figures.total_loans > figures.tier1_net_capital
