"""Loan life cycle and policy: tranche rules, limits, closing, and idempotent operation ids."""

from __future__ import annotations

import pytest

from contracts.ids import text_id
from tests.contracts.conftest import SHARES, Ledger, drawdown_input, loan_input, repayment_input


@pytest.mark.parametrize(
    ("shares", "error"),
    [
        ({"WEBANK": 3_000, "MYBANK": 5_000, "XWBANK": 1_999}, "SharesDoNotSum"),
        ({"WEBANK": 2_999, "MYBANK": 5_000, "XWBANK": 2_001}, "ServicerShareBelowFloor"),
        ({"MYBANK": 5_000, "XWBANK": 5_000}, "ServicerHasNoTranche"),
        ({"WEBANK": 5_000, "REGULATOR": 5_000}, "BankNotActive"),
        ({"WEBANK": 4_000, "NOBANK": 6_000}, "BankNotActive"),
        ({"WEBANK": 10_000, "MYBANK": 0}, "ZeroShare"),
        ({}, "TooManyTranches"),
    ],
)
def test_tranche_policy(ledger: Ledger, shares: dict[str, int], error: str) -> None:
    assert ledger.fails("WEBANK", "CoLending", "registerLoan", loan_input(text_id("LN-POL"), shares)) == error


def test_duplicate_tranche_refused(ledger: Ledger) -> None:
    loan = loan_input(text_id("LN-DUP"), {"WEBANK": 4_000, "MYBANK": 3_000})
    loan["tranches"].append(dict(loan["tranches"][1]))
    assert ledger.fails("WEBANK", "CoLending", "registerLoan", loan) == "DuplicateTranche"


def test_servicer_funds_at_least_the_floor_exactly_30_percent_passes(ledger: Ledger) -> None:
    at_floor = loan_input(text_id("LN-FLOOR"), {"WEBANK": 3_000, "MYBANK": 7_000})
    assert ledger.ok("WEBANK", "CoLending", "registerLoan", at_floor).events("LoanRegistered")[0]["sharesBps"] == (3_000, 7_000)
    below = loan_input(text_id("LN-BELOW"), {"WEBANK": 2_999, "MYBANK": 7_001})
    outcome = ledger.tx("WEBANK", "CoLending", "registerLoan", below)
    assert not outcome.success and outcome.error is not None
    assert outcome.error.name == "ServicerShareBelowFloor"
    assert outcome.error.args["shareBps"] == 2_999 and outcome.error.args["floorBps"] == 3_000


def test_a_partner_may_take_a_small_slice_but_not_none(ledger: Ledger) -> None:
    loan = loan_input(text_id("LN-SMALL"), {"WEBANK": 9_999, "MYBANK": 1})
    assert ledger.ok("WEBANK", "CoLending", "registerLoan", loan).events("LoanRegistered")[0]["sharesBps"] == (9_999, 1)
    alone = loan_input(text_id("LN-ALONE"), {"WEBANK": 10_000})
    assert ledger.ok("WEBANK", "CoLending", "registerLoan", alone).events("LoanRegistered")


def test_same_id_same_content_is_a_noop_and_different_content_reverts(ledger: Ledger) -> None:
    loan = loan_input(text_id("LN-IDEM"), SHARES)
    first = ledger.ok("WEBANK", "CoLending", "registerLoan", loan)
    again = ledger.ok("WEBANK", "CoLending", "registerLoan", loan)
    assert first.logs and not again.logs
    changed = dict(loan, principal=loan["principal"] + 1)
    assert ledger.fails("WEBANK", "CoLending", "registerLoan", changed) == "IdConflict"

    dd = drawdown_input(text_id("LN-IDEM"), text_id("DD-IDEM"), 400_000)
    assert ledger.ok("WEBANK", "CoLending", "drawdown", dd).logs
    assert not ledger.ok("WEBANK", "CoLending", "drawdown", dd).logs
    assert ledger.fails("WEBANK", "CoLending", "drawdown", dict(dd, amount=1)) == "IdConflict"
    assert ledger.call("CoLending", "loan", text_id("LN-IDEM"))[2] == 400_000  # drawn once

    # An op id is global: reusing a drawdown id for a repayment is a conflict, not a new operation.
    assert (
        ledger.fails("WEBANK", "CoLending", "repay", repayment_input(text_id("LN-IDEM"), text_id("DD-IDEM"), 1)) == "IdConflict"
    )


def test_batch_registration_counts_only_new_loans(ledger: Ledger) -> None:
    loans = [loan_input(text_id(f"LN-B{i}"), SHARES) for i in range(5)]
    first = ledger.ok("WEBANK", "CoLending", "registerLoans", loans)
    assert len(first.events("LoanRegistered")) == 5
    assert ledger.suite.codecs["CoLending"].decode_output("registerLoans", first.output) == 5
    again = ledger.ok("WEBANK", "CoLending", "registerLoans", [*loans, loan_input(text_id("LN-B5"), SHARES)])
    assert ledger.suite.codecs["CoLending"].decode_output("registerLoans", again.output) == 1


def test_limits_on_drawdown_and_repayment(ledger: Ledger, funded_loan: bytes) -> None:
    assert (
        ledger.fails("WEBANK", "CoLending", "drawdown", drawdown_input(funded_loan, text_id("DD-OVER"), 1)) == "ExceedsPrincipal"
    )
    assert (
        ledger.fails("WEBANK", "CoLending", "repay", repayment_input(funded_loan, text_id("RP-OVER"), 1_000_001))
        == "ExceedsOutstanding"
    )
    assert ledger.fails("WEBANK", "CoLending", "repay", repayment_input(funded_loan, text_id("RP-ZERO"), 0)) == "ZeroAmount"
    bad_date = dict(repayment_input(funded_loan, text_id("RP-DATE"), 1), valueDate=20261340)
    assert ledger.fails("WEBANK", "CoLending", "repay", bad_date) == "InvalidValueDate"
    assert (
        ledger.fails("WEBANK", "CoLending", "drawdown", drawdown_input(text_id("LN-NONE"), text_id("DD-N"), 1)) == "LoanNotFound"
    )


def test_payoff_closes_the_loan(ledger: Ledger, funded_loan: bytes) -> None:
    ledger.ok("WEBANK", "CoLending", "repay", repayment_input(funded_loan, text_id("RP-1"), 333_333, 1_000))
    partial = repayment_input(funded_loan, text_id("PO-1"), 1, 50)
    assert ledger.fails("WEBANK", "CoLending", "payoff", partial) == "ExceedsOutstanding"
    paid = ledger.ok("WEBANK", "CoLending", "payoff", repayment_input(funded_loan, text_id("PO-2"), 666_667, 50))
    assert paid.events("LoanStatusChanged") == [{"loanId": funded_loan, "status": 3}]
    assert [t[2] for t in ledger.call("CoLending", "tranches", funded_loan)] == [0, 0, 0]
    assert ledger.fails("WEBANK", "CoLending", "repay", repayment_input(funded_loan, text_id("RP-2"), 0, 1)) == "LoanClosed"


def test_write_off_reduces_outstanding_without_clearing_entries(ledger: Ledger, funded_loan: bytes) -> None:
    done = ledger.ok("WEBANK", "CoLending", "writeOff", funded_loan, text_id("WO-1"), 400_001, 20261124)
    assert sum(e["amount"] for e in done.events("TrancheWrittenOff")) == 400_001
    assert done.events("EntryPosted") == []
    final = ledger.ok("WEBANK", "CoLending", "writeOff", funded_loan, text_id("WO-2"), 599_999, 20261124)
    assert final.events("LoanStatusChanged")[0]["status"] == 4
    assert ledger.call("CoLending", "loan", funded_loan)[3] == 0
