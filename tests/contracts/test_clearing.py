"""Clearing cycles: netting sums to zero, the state machine refuses every illegal move, settled is final."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.ids import bank_id, text_id
from tests.contracts.conftest import Ledger, deploy, entry_input, fresh_id

OPEN, CLOSED, NETTED, CONFIRMED, SETTLED, DISPUTED = 1, 2, 3, 4, 5, 6
BANKS = ["WEBANK", "MYBANK", "XWBANK"]


def post(ledger: Ledger, payer: str, payee: str, amount: int) -> None:
    ledger.ok(payer, "Clearing", "postEntry", entry_input(fresh_id("E"), payer, payee, amount))


def cycle_with_debts(ledger: Ledger) -> int:
    """Cycle 1 with MYBANK owing WEBANK 700 and XWBANK owing WEBANK 300 net (after a 100 fee back)."""
    post(ledger, "MYBANK", "WEBANK", 700)
    post(ledger, "XWBANK", "WEBANK", 400)
    post(ledger, "WEBANK", "XWBANK", 100)
    ledger.ok("MYBANK", "Clearing", "closeCycle")
    return 1


def test_full_cycle_from_entries_to_settlement(ledger: Ledger) -> None:
    cycle = cycle_with_debts(ledger)
    netted = ledger.ok("XWBANK", "Clearing", "netCycle", cycle)
    positions = {e["bankId"]: e["position"] for e in netted.events("NetPosition")}
    assert positions == {bank_id("WEBANK"): 1_000, bank_id("MYBANK"): -700, bank_id("XWBANK"): -300}
    bilateral = {(e["payer"], e["payee"]): e["amount"] for e in netted.events("BilateralNet")}
    assert bilateral == {(bank_id("MYBANK"), bank_id("WEBANK")): 700, (bank_id("XWBANK"), bank_id("WEBANK")): 300}
    plan = [(e["payer"], e["payee"], e["amount"]) for e in netted.events("SettlementInstruction")]
    assert plan == [(bank_id("MYBANK"), bank_id("WEBANK"), 700), (bank_id("XWBANK"), bank_id("WEBANK"), 300)]

    for bank in BANKS:
        ledger.ok(bank, "Clearing", "confirmCycle", cycle)
    assert ledger.call("Clearing", "cycleStatus", cycle) == CONFIRMED
    ledger.ok("MYBANK", "Clearing", "recordPayment", cycle, 0, text_id("CNAPS-0001"))
    ledger.ok("XWBANK", "Clearing", "recordPayment", cycle, 1, text_id("CNAPS-0002"))
    ledger.ok("WEBANK", "Clearing", "acknowledgePayment", cycle, 0)
    settled = ledger.ok("WEBANK", "Clearing", "acknowledgePayment", cycle, 1)
    assert settled.events("CycleStatusChanged") == [{"cycleId": cycle, "status": SETTLED}]


def test_settled_cycle_never_changes(ledger: Ledger) -> None:
    test_full_cycle_from_entries_to_settlement(ledger)
    for bank, fn, args in [
        ("WEBANK", "netCycle", (1,)),
        ("WEBANK", "confirmCycle", (1,)),
        ("MYBANK", "recordPayment", (1, 0, text_id("X"))),
        ("WEBANK", "acknowledgePayment", (1, 0)),
        ("MYBANK", "disputeCycle", (1, b"\x01" * 32)),
        ("MYBANK", "withdrawDispute", (1,)),
    ]:
        assert ledger.fails(bank, "Clearing", fn, *args) == "BadCycleStatus", fn
    # New entries land in the open cycle, never in the settled one.
    post(ledger, "MYBANK", "WEBANK", 5)
    assert ledger.call("Clearing", "position", 1, bank_id("MYBANK")) == -700
    assert ledger.call("Clearing", "position", 2, bank_id("MYBANK")) == -5


def test_every_illegal_transition_is_refused(ledger: Ledger) -> None:
    # OPEN: nothing but posting and closing.
    post(ledger, "MYBANK", "WEBANK", 10)
    for bank, fn, args in [
        ("WEBANK", "netCycle", (1,)),
        ("WEBANK", "confirmCycle", (1,)),
        ("MYBANK", "recordPayment", (1, 0, text_id("R"))),
        ("WEBANK", "acknowledgePayment", (1, 0)),
        ("WEBANK", "disputeCycle", (1, b"\x01" * 32)),
        ("WEBANK", "withdrawDispute", (1,)),
    ]:
        assert ledger.fails(bank, "Clearing", fn, *args) == "BadCycleStatus", ("OPEN", fn)
    ledger.ok("WEBANK", "Clearing", "closeCycle")
    # CLOSED: only netting.
    for bank, fn, args in [
        ("WEBANK", "confirmCycle", (1,)),
        ("MYBANK", "recordPayment", (1, 0, text_id("R"))),
        ("WEBANK", "acknowledgePayment", (1, 0)),
        ("WEBANK", "disputeCycle", (1, b"\x01" * 32)),
        ("WEBANK", "withdrawDispute", (1,)),
    ]:
        assert ledger.fails(bank, "Clearing", fn, *args) == "BadCycleStatus", ("CLOSED", fn)
    ledger.ok("WEBANK", "Clearing", "netCycle", 1)
    # NETTED: no second netting, no payments before everyone confirmed.
    assert ledger.fails("WEBANK", "Clearing", "netCycle", 1) == "BadCycleStatus"
    assert ledger.fails("MYBANK", "Clearing", "recordPayment", 1, 0, text_id("R")) == "BadCycleStatus"
    assert ledger.fails("WEBANK", "Clearing", "withdrawDispute", 1) == "BadCycleStatus"
    ledger.ok("WEBANK", "Clearing", "confirmCycle", 1)
    assert ledger.fails("WEBANK", "Clearing", "confirmCycle", 1) == "AlreadyConfirmed"
    assert ledger.fails("XWBANK", "Clearing", "confirmCycle", 1) == "NotParticipant"
    ledger.ok("MYBANK", "Clearing", "confirmCycle", 1)
    # CONFIRMED: payer records, payee acknowledges, in that order, each only by the right bank.
    assert ledger.fails("WEBANK", "Clearing", "confirmCycle", 1) == "BadCycleStatus"
    assert ledger.fails("WEBANK", "Clearing", "acknowledgePayment", 1, 0) == "PaymentNotRecorded"
    assert ledger.fails("WEBANK", "Clearing", "recordPayment", 1, 0, text_id("R")) == "NotInstructionPayer"
    assert ledger.fails("MYBANK", "Clearing", "recordPayment", 1, 0, b"\0" * 32) == "EmptyPaymentRef"
    assert ledger.fails("MYBANK", "Clearing", "recordPayment", 1, 5, text_id("R")) == "UnknownInstruction"
    ledger.ok("MYBANK", "Clearing", "recordPayment", 1, 0, text_id("R"))
    assert ledger.fails("MYBANK", "Clearing", "recordPayment", 1, 0, text_id("R2")) == "PaymentAlreadyRecorded"
    assert ledger.fails("MYBANK", "Clearing", "acknowledgePayment", 1, 0) == "NotInstructionPayee"
    # Once money moved, the cycle can no longer be disputed.
    assert ledger.fails("MYBANK", "Clearing", "disputeCycle", 1, b"\x01" * 32) == "PaymentAlreadyRecorded"
    ledger.ok("WEBANK", "Clearing", "acknowledgePayment", 1, 0)
    assert ledger.call("Clearing", "cycleStatus", 1) == SETTLED
    assert ledger.fails("WEBANK", "Clearing", "netCycle", 99) == "UnknownCycle"


def test_empty_cycle_cannot_close(ledger: Ledger) -> None:
    assert ledger.fails("WEBANK", "Clearing", "closeCycle") == "EmptyCycle"


def test_dispute_returns_to_netted_and_everyone_confirms_again(ledger: Ledger) -> None:
    cycle = cycle_with_debts(ledger)
    ledger.ok("WEBANK", "Clearing", "netCycle", cycle)
    ledger.ok("WEBANK", "Clearing", "confirmCycle", cycle)
    ledger.ok("XWBANK", "Clearing", "disputeCycle", cycle, b"\x07" * 32)
    assert ledger.call("Clearing", "cycleStatus", cycle) == DISPUTED
    assert ledger.fails("WEBANK", "Clearing", "withdrawDispute", cycle) == "NotDisputingBank"
    ledger.ok("XWBANK", "Clearing", "withdrawDispute", cycle)
    assert ledger.call("Clearing", "cycleStatus", cycle) == NETTED
    assert ledger.call("Clearing", "confirmed", cycle, bank_id("WEBANK")) is False


def test_zero_position_bank_has_nothing_to_confirm() -> None:
    ledger = deploy(["WEBANK", "MYBANK", "XWBANK"])
    post(ledger, "MYBANK", "WEBANK", 50)
    post(ledger, "WEBANK", "XWBANK", 50)
    post(ledger, "XWBANK", "MYBANK", 50)
    ledger.ok("WEBANK", "Clearing", "closeCycle")
    netted = ledger.ok("WEBANK", "Clearing", "netCycle", 1)
    # A perfect circle nets to nothing: no instructions, and the cycle settles at once.
    assert netted.events("SettlementInstruction") == []
    assert ledger.call("Clearing", "cycleStatus", 1) == SETTLED


def test_corrections_are_new_entries_referencing_the_original(ledger: Ledger) -> None:
    original = fresh_id("FEE")
    ledger.ok("MYBANK", "Clearing", "postEntry", entry_input(original, "MYBANK", "WEBANK", 900))
    fix = entry_input(fresh_id("COR"), "WEBANK", "MYBANK", 100, kind=4, ref=original)
    assert ledger.ok("WEBANK", "Clearing", "postEntry", fix).events("EntryPosted")[0]["ref"] == original
    orphan = entry_input(fresh_id("COR"), "WEBANK", "MYBANK", 100, kind=4, ref=text_id("NOPE"))
    assert ledger.fails("WEBANK", "Clearing", "postEntry", orphan) == "UnknownEntry"
    assert ledger.call("Clearing", "position", 1, bank_id("MYBANK")) == -800


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"amount": 0}, "ZeroAmount"),
        ({"payee": bank_id("MYBANK")}, "SameParty"),
        ({"valueDate": 20260231 + 1}, "InvalidValueDate"),
        ({"payee": bank_id("REGULATOR")}, "BankNotActive"),
        ({"entryId": b"\0" * 32}, "InvalidEntry"),
    ],
)
def test_bad_entries_are_refused(ledger: Ledger, change: dict, error: str) -> None:
    entry = dict(entry_input(text_id("E-BAD"), "MYBANK", "WEBANK", 10), **change)
    assert ledger.fails("MYBANK", "Clearing", "postEntry", entry) == error


def test_entry_ids_are_idempotent(ledger: Ledger) -> None:
    entry = entry_input(text_id("E-IDEM"), "MYBANK", "WEBANK", 10)
    ledger.ok("MYBANK", "Clearing", "postEntry", entry)
    assert ledger.ok("MYBANK", "Clearing", "postEntry", entry).logs == []
    assert ledger.fails("MYBANK", "Clearing", "postEntry", dict(entry, amount=11)) == "IdConflict"
    assert ledger.call("Clearing", "position", 1, bank_id("WEBANK")) == 10


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(BANKS), st.sampled_from(BANKS), st.integers(1, 10**12)), min_size=1, max_size=25))
def test_net_positions_sum_to_zero_and_the_plan_pays_them_exactly(entries: list[tuple[str, str, int]]) -> None:
    ledger = deploy()
    posted = [(a, b, amt) for a, b, amt in entries if a != b]
    if not posted:
        return
    for payer, payee, amount in posted:
        post(ledger, payer, payee, amount)
    ledger.ok("WEBANK", "Clearing", "closeCycle")
    netted = ledger.ok("WEBANK", "Clearing", "netCycle", 1)
    positions = {e["bankId"]: e["position"] for e in netted.events("NetPosition")}
    assert sum(positions.values()) == 0
    expected: dict[bytes, int] = {}
    for payer, payee, amount in posted:
        expected[bank_id(payer)] = expected.get(bank_id(payer), 0) - amount
        expected[bank_id(payee)] = expected.get(bank_id(payee), 0) + amount
    assert positions == expected
    settled = dict.fromkeys(positions, 0)
    plan = netted.events("SettlementInstruction")
    assert len(plan) <= max(len(positions) - 1, 0)
    for ins in plan:
        settled[ins["payer"]] -= ins["amount"]
        settled[ins["payee"]] += ins["amount"]
    assert settled == positions
