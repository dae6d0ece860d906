"""Governance: a proposal passes with votes of at least 2/3 of active banks, and not one vote fewer."""

from __future__ import annotations

import pytest

from contracts.ids import bank_id, text_id
from tests.contracts.conftest import Ledger, account_of, deploy, loan_input

SIX_BANKS = ["WEBANK", "MYBANK", "XWBANK", "BANK4", "BANK5", "BANK6"]
SERVICER_FLOOR = b"MIN_SERVICER_SHARE_BPS".ljust(32, b"\0")
PARTNER_MINIMUM = b"MIN_PARTNER_SHARE_BPS".ljust(32, b"\0")


@pytest.mark.parametrize(("banks", "needed"), [(SIX_BANKS, 4), (SIX_BANKS[:3], 2), (SIX_BANKS[:4], 3), (SIX_BANKS[:5], 4)])
def test_quorum_is_exactly_two_thirds_of_active_banks(banks: list[str], needed: int) -> None:
    ledger = deploy(banks)
    assert ledger.call("Consortium", "votesNeeded") == needed
    ledger.ok(banks[0], "Consortium", "proposeSetPolicy", SERVICER_FLOOR, 2_500)
    for voter in banks[1 : needed - 1]:
        assert ledger.ok(voter, "Consortium", "vote", 0).events("ProposalExecuted") == []
    # One vote short of 2/3: nothing changed yet.
    assert ledger.call("Consortium", "policy", SERVICER_FLOOR) == 3_000
    assert ledger.call("Consortium", "proposal", 0)[8] == needed - 1
    executed = ledger.ok(banks[needed - 1], "Consortium", "vote", 0)
    assert [e["kind"] for e in executed.events("ProposalExecuted")] == [6]
    assert ledger.call("Consortium", "policy", SERVICER_FLOOR) == 2_500


def test_a_bank_votes_once_and_executed_proposals_are_closed(ledger: Ledger) -> None:
    ledger.ok("WEBANK", "Consortium", "proposeAddValidator", "0x" + "77" * 20)
    assert ledger.fails("WEBANK", "Consortium", "vote", 0) == "AlreadyVoted"
    done = ledger.ok("MYBANK", "Consortium", "vote", 0)
    added = done.events("ValidatorAdded")
    assert added and added[0]["effectiveFromBlock"] >= 1
    assert ledger.fails("XWBANK", "Consortium", "vote", 0) == "ProposalAlreadyExecuted"
    assert ledger.fails("XWBANK", "Consortium", "vote", 7) == "UnknownProposal"
    assert [v.lower() for v in ledger.call("Consortium", "validators")] == ["0x" + "99" * 20, "0x" + "77" * 20]


def test_deployment_sets_the_servicer_floor_and_a_one_bp_partner_minimum(ledger: Ledger) -> None:
    assert ledger.call("Consortium", "policy", SERVICER_FLOOR) == 3_000
    assert ledger.call("Consortium", "policy", PARTNER_MINIMUM) == 1


def test_governance_moves_the_servicer_floor(ledger: Ledger) -> None:
    shares = {"WEBANK": 2_500, "MYBANK": 7_500}
    assert ledger.fails("WEBANK", "CoLending", "registerLoan", loan_input(text_id("LN-P1"), shares)) == "ServicerShareBelowFloor"
    proposed = ledger.ok("WEBANK", "Consortium", "proposeSetPolicy", SERVICER_FLOOR, 2_000)
    assert proposed.events("PolicySet") == []  # one vote of three banks is not 2/3
    voted = ledger.ok("MYBANK", "Consortium", "vote", 0)
    assert voted.events("PolicySet") == [{"key": SERVICER_FLOOR, "value": 2_000}]
    assert ledger.ok("WEBANK", "CoLending", "registerLoan", loan_input(text_id("LN-P2"), shares)).events("LoanRegistered")


def test_governance_sets_a_partner_minimum(ledger: Ledger) -> None:
    shares = {"WEBANK": 9_000, "MYBANK": 500, "XWBANK": 500}
    assert ledger.ok("WEBANK", "CoLending", "registerLoan", loan_input(text_id("LN-M1"), shares)).events("LoanRegistered")
    ledger.ok("XWBANK", "Consortium", "proposeSetPolicy", PARTNER_MINIMUM, 1_000)
    voted = ledger.ok("MYBANK", "Consortium", "vote", 0)
    assert voted.events("PolicySet") == [{"key": PARTNER_MINIMUM, "value": 1_000}]
    outcome = ledger.tx("WEBANK", "CoLending", "registerLoan", loan_input(text_id("LN-M2"), shares))
    assert outcome.error is not None and outcome.error.name == "PartnerShareBelowMinimum"
    assert (outcome.error.args["bank"], outcome.error.args["minimumBps"]) == (bank_id("MYBANK"), 1_000)
    # The servicer is held to its own floor, not to the partner minimum.
    fine = {"WEBANK": 3_000, "MYBANK": 6_000, "XWBANK": 1_000}
    assert ledger.ok("WEBANK", "CoLending", "registerLoan", loan_input(text_id("LN-M3"), fine)).events("LoanRegistered")


@pytest.mark.parametrize(("key", "value"), [(SERVICER_FLOOR, 10_001), (PARTNER_MINIMUM, 10_001), (PARTNER_MINIMUM, 0)])
def test_invalid_policy_values_are_refused(ledger: Ledger, key: bytes, value: int) -> None:
    assert ledger.fails("WEBANK", "Consortium", "proposeSetPolicy", key, value) == "InvalidPolicy"


def test_a_bank_cannot_change_policy_alone(ledger: Ledger) -> None:
    ledger.ok("WEBANK", "Consortium", "proposeSetPolicy", SERVICER_FLOOR, 0)
    assert ledger.call("Consortium", "policy", SERVICER_FLOOR) == 3_000
    assert ledger.fails("REGULATOR", "Consortium", "vote", 0) == "ObserverCannotWrite"
    assert ledger.call("Consortium", "policy", SERVICER_FLOOR) == 3_000


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
