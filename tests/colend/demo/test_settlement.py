"""Clearing the day's cycle through the desk: every bank confirms, pays with four eyes, acknowledges: SETTLED."""

from __future__ import annotations

import pytest

from colend.demo.checks import cycle_settled, net_positions_sum_to_zero
from colend.demo.day import BANKS, plan_day
from colend.demo.posting import post_day
from colend.demo.settlement import ChainDesk, officers, settle_cycle
from colend.errors import FourEyesViolation


def test_the_day_clears_to_settled_with_two_officers_per_payment(evm_sessions) -> None:
    suite, sessions = evm_sessions
    banks = {b: sessions[b] for b in BANKS}
    posted = post_day(plan_day(12, 8), banks)
    log = settle_cycle(ChainDesk(banks), BANKS, closer="XWBANK", payment_date="20261124")
    assert log.status == "SETTLED"
    assert log.netting.entries == sum(p.count("EntryPosted") for p in posted.values())
    assert cycle_settled(log).ok and net_positions_sum_to_zero(log.netting.positions).ok
    assert sorted(log.confirmed_by) == sorted(b for b, p in log.netting.positions.items() if p)
    for step in log.payments:
        assert step.entered_by != step.approved_by
        assert {step.entered_by, step.approved_by} == set(officers(step.instruction.payer))
    refs = [ins[3] for ins in suite.call("Clearing", "instructions", log.netting.cycle)]
    assert [r.rstrip(b"\0").decode() for r in refs] == [s.reference for s in log.payments]


def test_one_officer_cannot_approve_a_payment_reference_they_entered(evm_sessions) -> None:
    suite, sessions = evm_sessions
    banks = {b: sessions[b] for b in BANKS}
    post_day(plan_day(4, 8), banks)
    desk = ChainDesk(banks)
    netting = desk.close_and_net("WEBANK")
    for bank, position in netting.positions.items():
        if position:
            desk.confirm(bank, netting.cycle)
    ins = netting.instructions[0]
    desk.enter_payment(ins.payer, "alice", netting.cycle, ins.index, "CNAPS-1")
    with pytest.raises(FourEyesViolation):
        desk.approve_payment(ins.payer, "alice", netting.cycle, ins.index)
    assert suite.call("Clearing", "instructions", netting.cycle)[ins.index][3] == b"\0" * 32, "nothing recorded on chain"
    desk.approve_payment(ins.payer, "bob", netting.cycle, ins.index)
    assert suite.call("Clearing", "instructions", netting.cycle)[ins.index][3].rstrip(b"\0") == b"CNAPS-1"
