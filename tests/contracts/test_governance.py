"""Governance: a proposal passes with votes of at least 2/3 of active banks, and not one vote fewer."""

from __future__ import annotations

import pytest

from contracts.ids import bank_id, text_id
from tests.contracts.conftest import Ledger, account_of, deploy, loan_input

SIX_BANKS = ["WEBANK", "MYBANK", "XWBANK", "BANK4", "BANK5", "BANK6"]


@pytest.mark.parametrize(("banks", "needed"), [(SIX_BANKS, 4), (SIX_BANKS[:3], 2), (SIX_BANKS[:4], 3), (SIX_BANKS[:5], 4)])
def test_quorum_is_exactly_two_thirds_of_active_banks(banks: list[str], needed: int) -> None:
    ledger = deploy(banks)
    assert ledger.call("Consortium", "votesNeeded") == needed
    ledger.ok(banks[0], "Consortium", "proposeSetPolicy", b"MIN_PARTNER_SHARE_BPS".ljust(32, b"\0"), 2_500)
    for voter in banks[1 : needed - 1]:
        assert ledger.ok(voter, "Consortium", "vote", 0).events("ProposalExecuted") == []
    # One vote short of 2/3: nothing changed yet.
    assert ledger.call("Consortium", "policy", b"MIN_PARTNER_SHARE_BPS".ljust(32, b"\0")) == 3_000
    assert ledger.call("Consortium", "proposal", 0)[8] == needed - 1
    executed = ledger.ok(banks[needed - 1], "Consortium", "vote", 0)
    assert [e["kind"] for e in executed.events("ProposalExecuted")] == [6]
    assert ledger.call("Consortium", "policy", b"MIN_PARTNER_SHARE_BPS".ljust(32, b"\0")) == 2_500


def test_a_bank_votes_once_and_executed_proposals_are_closed(ledger: Ledger) -> None:
    ledger.ok("WEBANK", "Consortium", "proposeAddValidator", "0x" + "77" * 20)
    assert ledger.fails("WEBANK", "Consortium", "vote", 0) == "AlreadyVoted"
    done = ledger.ok("MYBANK", "Consortium", "vote", 0)
    added = done.events("ValidatorAdded")
    assert added and added[0]["effectiveFromBlock"] >= 1
    assert ledger.fails("XWBANK", "Consortium", "vote", 0) == "ProposalAlreadyExecuted"
    assert ledger.fails("XWBANK", "Consortium", "vote", 7) == "UnknownProposal"
    assert [v.lower() for v in ledger.call("Consortium", "validators")] == ["0x" + "99" * 20, "0x" + "77" * 20]


def test_policy_change_moves_the_partner_floor(ledger: Ledger) -> None:
    shares = {"WEBANK": 7_500, "MYBANK": 2_500}
    assert ledger.fails("WEBANK", "CoLending", "registerLoan", loan_input(text_id("LN-P1"), shares)) == "ShareBelowMinimum"
    ledger.ok("WEBANK", "Consortium", "proposeSetPolicy", b"MIN_PARTNER_SHARE_BPS".ljust(32, b"\0"), 2_000)
    ledger.ok("MYBANK", "Consortium", "vote", 0)
    assert ledger.ok("WEBANK", "CoLending", "registerLoan", loan_input(text_id("LN-P2"), shares)).events("LoanRegistered")


def test_invalid_policy_values_are_refused(ledger: Ledger) -> None:
    key = b"MIN_PARTNER_SHARE_BPS".ljust(32, b"\0")
    assert ledger.fails("WEBANK", "Consortium", "proposeSetPolicy", key, 10_001) == "InvalidPolicy"


def test_new_member_joins_and_can_fund_tranches(ledger: Ledger) -> None:
    newcomer = account_of("ZJBANK")
    ledger.ok("WEBANK", "Consortium", "proposeAddMember", bank_id("ZJBANK"), "Zhejiang Bank", 1, newcomer)
    ledger.ok("XWBANK", "Consortium", "vote", 0)
    assert ledger.call("Consortium", "canWrite", newcomer) is True
    assert ledger.call("Consortium", "activeBankCount") == 4
    shares = {"WEBANK": 4_000, "ZJBANK": 6_000}
    assert ledger.ok("WEBANK", "CoLending", "registerLoan", loan_input(text_id("LN-ZJ"), shares)).events("LoanRegistered")
    assert (
        ledger.fails("WEBANK", "Consortium", "proposeAddMember", bank_id("ZJBANK"), "dup", 1, "0x" + "12" * 20) == "MemberExists"
    )


def test_validator_removal_keeps_order_and_never_empties_the_set(ledger: Ledger) -> None:
    ledger.ok("WEBANK", "Consortium", "proposeRemoveValidator", "0x" + "99" * 20)
    assert ledger.fails("MYBANK", "Consortium", "vote", 0) == "LastValidator"
    assert [v.lower() for v in ledger.call("Consortium", "validators")] == ["0x" + "99" * 20]
