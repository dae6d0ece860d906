"""`colend demo`: a joint loan from registration to interbank settlement, on the contracts in pyrevm.

Three banks co-lend: WEBANK services and funds 30% (the floor), MYBANK 50%, XWBANK 20%. The walk-through registers the
loan, draws it down, collects two repayments, then clears the cycle: netting, confirmations, payments and
acknowledgements, and shows what a regulator (read-only) is refused.
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from contracts.enums import CYCLE_STATUS
from contracts.evm import EvmSession, TxOutcome
from contracts.ids import bank_id, borrower_hash, id_text, text_id
from contracts.money import fen
from contracts.suite import MemberSpec, Suite

ACCOUNTS = {"WEBANK": "0x" + "a1" * 20, "MYBANK": "0x" + "b1" * 20, "XWBANK": "0x" + "c1" * 20}
REGULATOR = "0x" + "d1" * 20
SHARES = {"WEBANK": 3_000, "MYBANK": 5_000, "XWBANK": 2_000}


def net_positions_table(cycle: int, positions: list[dict]) -> Table:
    """A cycle's NetPosition events as a table a clearing officer reads: one row per bank, in yuan."""
    table = Table(title=f"Cycle {cycle}: multilateral net positions (sum to zero)")
    table.add_column("bank")
    table.add_column("net position (CNY)", justify="right")
    for e in positions:
        table.add_row(id_text(e["bankId"]), fen(e["position"]))
    return table


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    out = console or Console()
    members = [MemberSpec(b, b.title(), "BANK", (a,)) for b, a in ACCOUNTS.items()]
    members.append(MemberSpec("REGULATOR", "Regulator", "OBSERVER", (REGULATOR,)))
    suite = Suite.deploy(EvmSession(), "0x" + "de" * 20, members, ["0x" + "99" * 20])
    out.rule("Colend walk-through: one joint loan, three banks")

    def step(title: str, sender: str, contract: str, fn: str, *call_args: object) -> TxOutcome:
        outcome = suite.transact(sender, contract, fn, *call_args)
        mark = "[green]ok[/green]" if outcome.success else f"[red]refused: {outcome.error}[/red]"
        out.print(f"- {title}: {mark} (gas {outcome.gas_used:,})")
        return outcome

    loan_id = text_id("LN-2026-000001")
    loan = {
        "loanId": loan_id, "servicer": bank_id("WEBANK"), "currency": b"CNY", "principal": 5_000_000,
        "borrowerHash": borrower_hash(b"webank-salt-0001", "110101199001011234"), "termsHash": b"\x22" * 32,
        "tranches": [{"bank": bank_id(b), "shareBps": s} for b, s in SHARES.items()],
    }  # fmt: skip
    below_floor = dict(loan, loanId=text_id("LN-2026-000002"), tranches=[
        {"bank": bank_id("WEBANK"), "shareBps": 2_000}, {"bank": bank_id("MYBANK"), "shareBps": 8_000}])  # fmt: skip
    step("WEBANK offers a loan it funds only 20% of", ACCOUNTS["WEBANK"], "CoLending", "registerLoan", below_floor)
    step("WEBANK registers a 50,000.00 CNY loan, 30/50/20", ACCOUNTS["WEBANK"], "CoLending", "registerLoan", loan)
    step("the regulator tries to write", REGULATOR, "CoLending", "registerLoan", loan)
    step("MYBANK tries to post for WEBANK's loan", ACCOUNTS["MYBANK"], "CoLending", "drawdown",
         {"loanId": loan_id, "drawdownId": text_id("DD-X"), "amount": 1, "valueDate": 20261124})  # fmt: skip
    step("WEBANK disburses the full principal", ACCOUNTS["WEBANK"], "CoLending", "drawdown",
         {"loanId": loan_id, "drawdownId": text_id("DD-0001"), "amount": 5_000_000, "valueDate": 20261124})  # fmt: skip
    repayment = {"loanId": loan_id, "principal": 416_667, "interest": 18_751, "penalty": 0, "valueDate": 20261224}
    paid = step(
        "borrower repays month 1", ACCOUNTS["WEBANK"], "CoLending", "repay", dict(repayment, repaymentId=text_id("RP-0001"))
    )
    step("the same repayment arrives twice (idempotent)", ACCOUNTS["WEBANK"], "CoLending", "repay",
         dict(repayment, repaymentId=text_id("RP-0001")))  # fmt: skip

    table = Table(title="Repayment RP-0001 allocated (largest remainder, sums exactly)")
    for col in ("bank", "principal", "interest", "outstanding"):
        table.add_column(col, justify="right" if col != "bank" else "left")
    for a in paid.events("RepaymentAllocated"):
        table.add_row(id_text(a["bank"]), fen(a["principal"]), fen(a["interest"]), fen(a["outstanding"]))
    out.print(table)

    step("MYBANK closes clearing cycle 1", ACCOUNTS["MYBANK"], "Clearing", "closeCycle")
    netted = step("XWBANK nets cycle 1", ACCOUNTS["XWBANK"], "Clearing", "netCycle", 1)
    out.print(net_positions_table(1, netted.events("NetPosition")))
    plan = netted.events("SettlementInstruction")
    for bank in ACCOUNTS:
        step(f"{bank} confirms", ACCOUNTS[bank], "Clearing", "confirmCycle", 1)
    for ins in plan:
        payer, payee = id_text(ins["payer"]), id_text(ins["payee"])
        ref = text_id(f"CNAPS-{ins['index']:04d}")
        step(f"{payer} pays {payee} {fen(ins['amount'])}", ACCOUNTS[payer], "Clearing", "recordPayment", 1, ins["index"], ref)
        step(f"{payee} acknowledges", ACCOUNTS[payee], "Clearing", "acknowledgePayment", 1, ins["index"])
    status = suite.call("Clearing", "cycleStatus", 1)
    out.print(f"cycle 1 is [bold]{CYCLE_STATUS[status]}[/bold]")
    return 0 if status == 5 else 1
