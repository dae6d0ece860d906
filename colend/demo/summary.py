"""The demo's summary, readable at any width and when piped: a table where it fits, else one block per row.

Cells are never cut: long ones fold inside their column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from clearing.policy import CheckStatus, ExposureReport, Rule
from colend.demo.bank_recon import BankRecon
from colend.demo.books import PlantedBreak
from colend.demo.checks import Finding
from colend.demo.day import LendingDay
from colend.demo.posting import Posted
from colend.demo.services import ApiKey
from colend.demo.settlement import SettlementLog
from contracts.money import fen

COMFORTABLE_CELL = 20  # longer cells (hashes, URLs) may fold inside a table; shorter ones should not


@dataclass
class Listing:
    """Rows under named columns, printed as a table where it fits and as one block per row where it does not."""

    title: str
    columns: tuple[str, ...]
    right: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)

    def comfortable_width(self) -> int:
        """Width of the table with no header word and no short cell broken (borders and padding included)."""
        widths = []
        for i, name in enumerate(self.columns):
            lines = [line for row in self.rows for line in _plain(row[i]).splitlines()]
            widths.append(max([len(w) for w in name.split()] + [min(len(line), COMFORTABLE_CELL) for line in lines]))
        return sum(widths) + 3 * len(widths) + 1


def _plain(cell: str) -> str:
    return Text.from_markup(cell).plain


def print_listing(console: Console, listing: Listing) -> None:
    console.print(Text(listing.title, style="bold"))  # its own line: a table's title would wrap at the table's width
    if listing.comfortable_width() <= console.width:
        t = Table()
        for name in listing.columns:
            t.add_column(name, justify="right" if name in listing.right else "left", overflow="fold")
        for row in listing.rows:
            t.add_row(*row)
        console.print(t)
        return
    for row in listing.rows:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for name, cell in zip(listing.columns, row, strict=True):
            grid.add_row(f"{name}:", cell)
        console.print(Padding(grid, (0, 0, 0, 2)))
        console.print()


def table(title: str, *columns: str, right: Sequence[str] = ()) -> Listing:
    return Listing(title, columns, tuple(right))


@dataclass(frozen=True)
class Member:
    member: str
    role: str
    node_url: str
    account: str


def members_table(members: Sequence[Member]) -> Listing:
    t = table("Consortium members and the node each one uses", "member", "role", "node", "account")
    for m in members:
        t.add_row(m.member, m.role, m.node_url, m.account)
    return t


def print_services(console: Console, urls: Mapping[str, str], keys: Mapping[str, Sequence[ApiKey]]) -> None:
    """Where each member's people log in, and their API keys by role (shown once: services store them hashed).

    One key per line, never folded by us (soft wrap: the terminal wraps it for the eye), so it copies whole.
    """
    console.print(Text("Clearing services: dashboards and API keys per role", style="bold"))
    for member, url in urls.items():
        console.print(f"{member}'s dashboard:")
        console.print(Text(f"  {url}/dashboard/"), soft_wrap=True)
        for key in keys[member]:
            console.print(Text(f"  {key.role} {key.secret}"), soft_wrap=True)


def loans_table(day: LendingDay) -> Listing:
    t = table("The day's joint loans by servicer (CNY)", "servicer", "loans", "principal", "outstanding", "paid off",
              "written off", right=("loans", "principal", "outstanding", "paid off", "written off"))  # fmt: skip
    for bank in day.servicers:
        loans = day.serviced_by(bank)
        t.add_row(
            bank, str(len(loans)), fen(sum(x.principal for x in loans)), fen(sum(x.outstanding for x in loans)),
            str(sum(1 for x in loans if x.status == "PAID_OFF")), str(sum(1 for x in loans if x.status == "WRITTEN_OFF")),
        )  # fmt: skip
    return t


def postings_table(posted: Mapping[str, Posted]) -> Listing:
    t = table("What each bank posted to its own node", "bank", "txs", "loans", "drawdowns", "repayments", "write-offs",
              "entries", right=("txs", "loans", "drawdowns", "repayments", "write-offs", "entries"))  # fmt: skip
    for bank, p in posted.items():
        t.add_row(
            bank, str(p.txs), str(p.count("LoanRegistered")), str(p.count("DrawdownPosted")), str(p.count("RepaymentPosted")),
            str(p.count("WriteOffPosted")), str(p.count("EntryPosted")),
        )  # fmt: skip
    return t


def positions_table(log: SettlementLog) -> Listing:
    n = log.netting
    title = f"Cycle {n.cycle}: {n.entries} clearing entries netted to these positions (CNY, sum to zero)"
    t = table(title, "bank", "net position", "confirmed", right=("net position",))
    for bank, position in sorted(n.positions.items()):
        t.add_row(bank, fen(position), "yes" if bank in log.confirmed_by else "-")
    return t


def payments_table(log: SettlementLog) -> Listing:
    t = table(f"Cycle {log.netting.cycle}: settlement ({log.status})", "#", "payer", "payee", "amount", "payment ref",
              "entered by", "approved by", "acknowledged by", right=("#", "amount"))  # fmt: skip
    for step in log.payments:
        ins = step.instruction
        t.add_row(str(ins.index), ins.payer, ins.payee, fen(ins.amount), step.reference, step.entered_by, step.approved_by,
                  step.acknowledged_by)  # fmt: skip
    return t


def reconciliation_table(recons: Mapping[str, BankRecon]) -> Listing:
    t = table("Reconciliation of each bank's books against the chain", "bank", "chain rows", "books rows", "matched",
              "breaks", "residual", "verdict", right=("chain rows", "books rows", "matched", "breaks", "residual"))  # fmt: skip
    for bank, r in recons.items():
        t.add_row(bank, str(r.chain_rows), str(r.books_rows), str(r.matched), str(len(r.breaks)), fen(r.residual), r.verdict)
    return t


def breaks_table(recons: Mapping[str, BankRecon], planted: Mapping[str, Sequence[PlantedBreak]]) -> Listing:
    """Every break per bank, beside the mistake that was planted for it (or "NOT PLANTED")."""
    t = table("Breaks by type per bank, and the mistakes planted in the books", "bank", "break", "record", "key", "planted as")
    for bank, r in recons.items():
        why = {p.break_id: p.mistake for p in planted.get(bank, ())}
        for b in r.breaks:
            t.add_row(bank, b.break_type, b.kind, b.key, why.pop(b.break_id, "NOT PLANTED"))
        for break_id, mistake in why.items():
            t.add_row(bank, "NOT FOUND", "", break_id, mistake)
    return t


def limits_table(report: ExposureReport) -> Listing:
    """The regulator's view: each bank's joint lending and single-partner balances against the notice's limits."""
    t = table("Limit checks (2021 notice): exposure against limit, CNY", "bank", "rule", "partner", "exposure", "limit",
              "status", right=("exposure", "limit"))  # fmt: skip
    for check in report.checks:
        rule = "joint <= 50% of loans" if check.rule is Rule.JOINT_TOTAL_LOANS else "partner <= 25% tier-1"
        status = check.status.value if check.status is not CheckStatus.BREACH else "[bold red]BREACH[/bold red]"
        t.add_row(check.bank, rule, check.partner or "all", fen(check.exposure), fen(check.limit_amount), status)
    return t


def checks_table(findings: Sequence[Finding]) -> Listing:
    t = table("Checks", "check", "result", "detail")
    for f in findings:
        t.add_row(f.check, "[green]pass[/green]" if f.ok else "[bold red]FAIL[/bold red]", f.detail)
    return t
