"""Who may write what: unknown accounts, observers and non-servicing banks are refused by name."""

from __future__ import annotations

from contracts.ids import bank_id, text_id
from tests.contracts.conftest import (
    ACCOUNTS,
    SHARES,
    STRANGER,
    Ledger,
    drawdown_input,
    entry_input,
    loan_input,
    repayment_input,
)


def test_node_admission_view_distinguishes_banks_observers_and_strangers(ledger: Ledger) -> None:
    assert ledger.call("Consortium", "canWrite", ACCOUNTS["WEBANK"]) is True
    assert ledger.call("Consortium", "canWrite", ACCOUNTS["REGULATOR"]) is False
    assert ledger.call("Consortium", "canWrite", STRANGER) is False


def test_non_member_cannot_register_a_loan(ledger: Ledger) -> None:
    assert ledger.fails(STRANGER, "CoLending", "registerLoan", loan_input(text_id("LN-X"), SHARES)) == "UnknownAccount"


def test_observer_cannot_write_anywhere(ledger: Ledger) -> None:
    loan = loan_input(text_id("LN-R"), SHARES)
    assert ledger.fails("REGULATOR", "CoLending", "registerLoan", loan) == "ObserverCannotWrite"
    assert ledger.fails("REGULATOR", "Clearing", "closeCycle") == "ObserverCannotWrite"
    assert ledger.fails("REGULATOR", "Consortium", "proposeSuspendMember", bank_id("MYBANK")) == "ObserverCannotWrite"


def test_bank_cannot_register_a_loan_naming_another_servicer(ledger: Ledger) -> None:
    loan = loan_input(text_id("LN-S"), SHARES, servicer="WEBANK")
    assert ledger.fails("MYBANK", "CoLending", "registerLoan", loan) == "NotServicer"


def test_bank_cannot_post_events_for_a_loan_it_does_not_service(ledger: Ledger, funded_loan: bytes) -> None:
    assert ledger.fails("MYBANK", "CoLending", "drawdown", drawdown_input(funded_loan, text_id("DD-M"), 1)) == "NotServicer"
    assert ledger.fails("XWBANK", "CoLending", "repay", repayment_input(funded_loan, text_id("RP-X"), 10)) == "NotServicer"
    assert ledger.fails("MYBANK", "CoLending", "writeOff", funded_loan, text_id("WO-M"), 10, 20261124) == "NotServicer"


def test_bank_cannot_create_a_debt_for_another_bank(ledger: Ledger) -> None:
    entry = entry_input(text_id("FEE-1"), "MYBANK", "WEBANK", 500)
    assert ledger.fails("WEBANK", "Clearing", "postEntry", entry) == "NotPayer"
    assert ledger.ok("MYBANK", "Clearing", "postEntry", entry).events("EntryPosted")[0]["amount"] == 500


def test_only_colending_records_allocation_obligations(ledger: Ledger) -> None:
    entry = entry_input(text_id("OB-1"), "MYBANK", "WEBANK", 500, kind=1)
    assert ledger.fails("MYBANK", "Clearing", "recordObligations", [entry]) == "NotCoLending"


def test_direct_entries_cannot_pose_as_loan_allocations(ledger: Ledger) -> None:
    entry = entry_input(text_id("FAKE-RP"), "MYBANK", "WEBANK", 500, kind=1)
    assert ledger.fails("MYBANK", "Clearing", "postEntry", entry) == "InvalidEntry"


def test_suspended_bank_loses_write_access(ledger: Ledger) -> None:
    proposal = ledger.ok("WEBANK", "Consortium", "proposeSuspendMember", bank_id("XWBANK"))
    assert proposal.events("ProposalExecuted") == []
    ledger.ok("MYBANK", "Consortium", "vote", 0)
    assert ledger.call("Consortium", "canWrite", ACCOUNTS["XWBANK"]) is False
    assert ledger.fails("XWBANK", "Clearing", "closeCycle") == "MemberNotActive"
    # A suspended bank can no longer be named in new loans either.
    assert ledger.fails("WEBANK", "CoLending", "registerLoan", loan_input(text_id("LN-SUS"), SHARES)) == "BankNotActive"
