"""The demo's summary as tables that read at any width and when piped: cells fold, they are never cut."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.table import Table

from clearing.recon.run import RunResult
from colend.day import LendingDay
from colend.demo_books import PlantedBreak
from colend.demo_checks import Finding
from colend.posting import Posted
from colend.settlement import SettlementLog


def fen(amount: int | None) -> str:
    """Int fen as yuan with thousands separators, by integer arithmetic only."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def table(title: str, *columns: str, right: Sequence[str] = ()) -> Table:
    """A table whose long cells wrap inside their column (overflow "fold"), so nothing is ever truncated."""
    t = Table(title=title, title_justify="left")
    for name in columns:
        t.add_column(name, justify="right" if name in right else "left", overflow="fold")
    return t


@dataclass(frozen=True)
class Member:
    member: str
    role: str
    node_url: str
    account: str


def members_table(members: Sequence[Member]) -> Table:
    t = table("Consortium members and the node each one uses", "member", "role", "node", "account")
    for m in members:
        t.add_row(m.member, m.role, m.node_url, m.account)
    return t


def loans_table(day: LendingDay) -> Table:
    t = table("The day's joint loans by servicer (CNY)", "servicer", "loans", "principal", "outstanding", "paid off",
              "written off", right=("loans", "principal", "outstanding", "paid off", "written off"))  # fmt: skip
    for bank in day.servicers:
        loans = day.serviced_by(bank)
        t.add_row(
            bank, str(len(loans)), fen(sum(x.principal for x in loans)), fen(sum(x.outstanding for x in loans)),
            str(sum(1 for x in loans if x.status == "PAID_OFF")), str(sum(1 for x in loans if x.status == "WRITTEN_OFF")),
        )  # fmt: skip
    return t


def postings_table(posted: Mapping[str, Posted]) -> Table:
    t = table("What each bank posted to its own node", "bank", "txs", "loans", "drawdowns", "repayments", "write-offs",
              "entries", right=("txs", "loans", "drawdowns", "repayments", "write-offs", "entries"))  # fmt: skip
    for bank, p in posted.items():
        t.add_row(
            bank, str(p.txs), str(p.count("LoanRegistered")), str(p.count("DrawdownPosted")), str(p.count("RepaymentPosted")),
            str(p.count("WriteOffPosted")), str(p.count("EntryPosted")),
        )  # fmt: skip
    return t


def positions_table(log: SettlementLog) -> Table:
    n = log.netting
    t = table(f"Cycle {n.cycle}: net positions (CNY, sum to zero)", "bank", "net position", "confirmed", right=("net position",))
    for bank, position in sorted(n.positions.items()):
        t.add_row(bank, fen(position), "yes" if bank in log.confirmed_by else "-")
    return t


def payments_table(log: SettlementLog) -> Table:
    t = table(f"Cycle {log.netting.cycle}: settlement ({log.status})", "#", "payer", "payee", "amount", "payment ref",
              "entered by", "approved by", "acknowledged by", right=("#", "amount"))  # fmt: skip
    for step in log.payments:
        ins = step.instruction
        t.add_row(str(ins.index), ins.payer, ins.payee, fen(ins.amount), step.reference, step.entered_by, step.approved_by,
                  step.acknowledged_by)  # fmt: skip
    return t


def reconciliation_table(results: Mapping[str, RunResult]) -> Table:
    t = table("Reconciliation of each bank's books against the chain", "bank", "chain rows", "books rows", "matched",
              "breaks", "residual", "verdict", right=("chain rows", "books rows", "matched", "breaks", "residual"))  # fmt: skip
    for bank, result in results.items():
        s = result.statement
        t.add_row(bank, str(s.overall.chain.count), str(s.overall.books.count), str(s.overall.matched_count),
                  str(result.breaks.height), fen(s.overall.residual), s.verdict.value)  # fmt: skip
    return t


def breaks_table(results: Mapping[str, RunResult], planted: Mapping[str, Sequence[PlantedBreak]]) -> Table:
    """Every break per bank, beside the mistake that was planted for it (or "NOT PLANTED")."""
    t = table("Breaks by type per bank, and the mistakes planted in the books", "bank", "break", "record", "key", "planted as")
    for bank, result in results.items():
        why = {p.break_id: p.mistake for p in planted.get(bank, ())}
        for break_id, break_type, kind, key in result.breaks.select("break_id", "break_type", "kind", "key").iter_rows():
            t.add_row(bank, break_type, kind, key, why.pop(break_id, "NOT PLANTED"))
        for break_id, mistake in why.items():
            t.add_row(bank, "NOT FOUND", "", break_id, mistake)
    return t


def checks_table(findings: Sequence[Finding]) -> Table:
    t = table("Checks", "check", "result", "detail")
    for f in findings:
        t.add_row(f.check, "[green]pass[/green]" if f.ok else "[bold red]FAIL[/bold red]", f.detail)
    return t
