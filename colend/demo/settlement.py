"""Clearing a cycle to SETTLED the way the banks do it, behind one small interface.

`ClearingDesk` is what a bank's clearing officers can do; `settle_cycle` drives every bank through close,
netting, confirmations, payments (four eyes: officer A enters the payment reference, officer B approves,
only then is it recorded on chain) and acknowledgements. `ChainDesk` acts straight on each bank's node with
the bank's key; a desk over each bank's clearing service API fits the same interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from colend.demo.posting import BankSession
from colend.errors import FourEyesViolation
from contracts.enums import CYCLE_STATUS
from contracts.ids import bank_id, id_text, text_id


@dataclass(frozen=True)
class Instruction:
    index: int
    payer: str
    payee: str
    amount: int


@dataclass(frozen=True)
class Netting:
    """A netted cycle: each bank's multilateral position (sums to zero) and the plan that settles it."""

    cycle: int
    positions: dict[str, int]
    instructions: tuple[Instruction, ...]
    entries: int = 0  # clearing entries the cycle held when it closed


@dataclass(frozen=True)
class PaymentStep:
    """One settlement instruction as it went: who entered and approved the reference, who acknowledged."""

    instruction: Instruction
    reference: str
    entered_by: str
    approved_by: str
    acknowledged_by: str


@dataclass
class SettlementLog:
    netting: Netting
    confirmed_by: list[str] = field(default_factory=list)
    payments: list[PaymentStep] = field(default_factory=list)
    status: str = ""


class ClearingDesk(Protocol):
    def close_and_net(self, bank: str) -> Netting: ...
    def confirm(self, bank: str, cycle: int) -> None: ...
    def enter_payment(self, bank: str, officer: str, cycle: int, index: int, reference: str) -> None: ...
    def approve_payment(self, bank: str, officer: str, cycle: int, index: int) -> None: ...
    def acknowledge(self, bank: str, officer: str, cycle: int, index: int) -> None: ...
    def cycle_status(self, bank: str, cycle: int) -> str: ...


def officers(bank: str) -> tuple[str, str]:
    """The two clearing officers of a bank: the one who enters payment references and the one who approves."""
    return f"{bank.lower()}-officer-a", f"{bank.lower()}-officer-b"


def settle_cycle(desk: ClearingDesk, banks: tuple[str, ...], *, closer: str, payment_date: str) -> SettlementLog:
    """Close and net the open cycle, have every bank with a position confirm, pay and acknowledge."""
    netting = desk.close_and_net(closer)
    log = SettlementLog(netting)
    for bank in banks:
        if netting.positions.get(bank, 0) != 0:
            desk.confirm(bank, netting.cycle)
            log.confirmed_by.append(bank)
    for ins in netting.instructions:
        entering, approving = officers(ins.payer)
        reference = f"CNAPS-{payment_date}-{ins.index:03d}"
        desk.enter_payment(ins.payer, entering, netting.cycle, ins.index, reference)
        desk.approve_payment(ins.payer, approving, netting.cycle, ins.index)
        receiving = officers(ins.payee)[0]
        desk.acknowledge(ins.payee, receiving, netting.cycle, ins.index)
        log.payments.append(PaymentStep(ins, reference, entering, approving, receiving))
    log.status = desk.cycle_status(closer, netting.cycle)
    return log


class ChainDesk:
    """Settlement actions sent straight to each bank's node, signed with the bank's key.

    Four eyes is kept here, in the desk: an entered payment reference waits until a different officer of
    the same bank approves it, and only the approval sends it on chain.
    """

    def __init__(self, sessions: Mapping[str, BankSession]) -> None:
        self.sessions = sessions
        self._entered: dict[tuple[str, int, int], tuple[str, str]] = {}  # (bank, cycle, index) -> (ref, officer)

    def close_and_net(self, bank: str) -> Netting:
        s = self.sessions[bank]
        cycle = int(s.client.call("Clearing", "currentCycle"))
        closed = s.client.send(s.account, "Clearing", "closeCycle")
        entries = sum(int(e["entryCount"]) for e in closed.named("CycleClosed"))
        netted = s.client.send(s.account, "Clearing", "netCycle", cycle)
        positions = {id_text(e["bankId"]): int(e["position"]) for e in netted.named("NetPosition")}
        plan = tuple(
            Instruction(int(e["index"]), id_text(e["payer"]), id_text(e["payee"]), int(e["amount"]))
            for e in netted.named("SettlementInstruction")
        )
        return Netting(cycle, positions, plan, entries)

    def confirm(self, bank: str, cycle: int) -> None:
        s = self.sessions[bank]
        s.client.send(s.account, "Clearing", "confirmCycle", cycle)

    def enter_payment(self, bank: str, officer: str, cycle: int, index: int, reference: str) -> None:
        self._entered[(bank, cycle, index)] = (reference, officer)

    def approve_payment(self, bank: str, officer: str, cycle: int, index: int) -> None:
        reference, entered_by = self._entered[(bank, cycle, index)]
        if officer == entered_by:
            raise FourEyesViolation(f"{officer} entered the reference of instruction {index}: another officer must approve it")
        s = self.sessions[bank]
        s.client.send(s.account, "Clearing", "recordPayment", cycle, index, text_id(reference))
        del self._entered[(bank, cycle, index)]

    def acknowledge(self, bank: str, officer: str, cycle: int, index: int) -> None:
        s = self.sessions[bank]
        s.client.send(s.account, "Clearing", "acknowledgePayment", cycle, index)

    def cycle_status(self, bank: str, cycle: int) -> str:
        status = int(self.sessions[bank].client.call("Clearing", "cycleStatus", cycle))
        return CYCLE_STATUS.get(status, str(status))

    def position(self, bank: str, cycle: int) -> int:
        return int(self.sessions[bank].client.call("Clearing", "position", cycle, bank_id(bank)))
