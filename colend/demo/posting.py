"""Each bank's own systems posting its part of the day: signed with its own key, sent to its own node.

Each bank declares its tier-1 net capital and total loans for the regulator's limit checks; servicers post
their loans (register, draw down, instalments, payoffs, write-offs) in batch calls; partners post the fees
they owe. The banks work side by side (one thread each), as separate institutions would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount

from colend.demo.day import LendingDay, drawdown_input, fee_input, loan_input, repayment_input, yyyymmdd
from contracts.ids import text_id
from contracts.rpc_client import Sent, SuiteClient

BATCH = 40  # operations per batch call: well inside the per-tx gas limit


@dataclass(frozen=True)
class BankSession:
    """One bank's connection: its key and a client bound to its own node."""

    bank: str
    account: LocalAccount
    client: SuiteClient


@dataclass
class Posted:
    """What one bank sent and what came back: tx count and the suite events, in order."""

    bank: str
    txs: int = 0
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, sent: Sent) -> None:
        self.txs += 1
        for event in sent.events:
            self.events.setdefault(event.name, []).append(event.args)

    def count(self, name: str) -> int:
        return len(self.events.get(name, []))


def post_day(day: LendingDay, sessions: Mapping[str, BankSession]) -> dict[str, Posted]:
    """Every bank posts its own part concurrently; returns what each posted, by bank."""
    with ThreadPoolExecutor(max_workers=len(sessions), thread_name_prefix="bank") as pool:
        jobs = {bank: pool.submit(_post_bank, day, session) for bank, session in sessions.items()}
        return {bank: job.result() for bank, job in jobs.items()}


def _post_bank(day: LendingDay, session: BankSession) -> Posted:
    posted = Posted(session.bank)
    loans = day.serviced_by(session.bank)
    send = _sender(session, posted)
    for figures in day.declared_figures():
        if figures.bank == session.bank:
            send("CoLending", "declareFigures", figures.tier1_net_capital, figures.total_loans, yyyymmdd(figures.as_of))
    for chunk in _chunks([loan_input(loan) for loan in loans]):
        send("CoLending", "registerLoans", chunk)
    for chunk in _chunks([drawdown_input(loan) for loan in loans]):
        send("CoLending", "drawdowns", chunk)
    instalments = [repayment_input(loan, r) for loan in loans for r in loan.repayments if not r.payoff]
    for chunk in _chunks(instalments):
        send("CoLending", "repayments", chunk)
    for loan in loans:
        for r in loan.repayments:
            if r.payoff:
                send("CoLending", "payoff", repayment_input(loan, r))
        if loan.write_off is not None:
            wo = loan.write_off
            send("CoLending", "writeOff", text_id(loan.loan_id), text_id(wo.op_id), wo.amount, yyyymmdd(wo.value_date))
    fees = [fee_input(fee) for fee in day.fees_paid_by(session.bank)]
    for chunk in _chunks(fees):
        send("Clearing", "postEntries", chunk)
    return posted


def _sender(session: BankSession, posted: Posted) -> Any:
    def send(contract: str, fn: str, *args: Any) -> Sent:
        sent = session.client.send(session.account, contract, fn, *args)
        posted.add(sent)
        return sent

    return send


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
