"""The limit checks as rich tables: one row per check, then the loans behind each breach."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from clearing.policy.model import CheckStatus, ExposureReport, LimitCheck, Rule
from contracts.money import fen

STATUS_STYLES = {CheckStatus.PASS: "green", CheckStatus.BREACH: "bold red", CheckStatus.UNDECLARED: "yellow"}
RULE_BASES = {Rule.PARTNER_TIER1: "tier-1", Rule.JOINT_TOTAL_LOANS: "loans"}
MAX_LOANS_SHOWN = 10
UNLIMITED = 100_000  # a width at which no table folds: measures what the table needs


def percent_text(value: Fraction | None) -> str:
    if value is None:
        return ""
    scaled = Decimal(value.numerator * 100) / Decimal(value.denominator)
    return f"{scaled.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def _rule_label(check: LimitCheck) -> str:
    """E.g. "25% tier-1": the share of which base the exposure may reach."""
    whole, part = divmod(check.limit_bps, 100)
    share = f"{whole}%" if part == 0 else f"{whole}.{part:02d}%"
    return f"{share} {RULE_BASES[check.rule]}"


def figures_table(report: ExposureReport, *, bank: str | None = None) -> Table:
    """Each bank's declared figures, the bases of the limits."""
    table = Table(title=f"Declared figures ({report.currency} yuan)", box=box.SIMPLE_HEAD)
    table.add_column("bank", overflow="fold")
    table.add_column("tier-1 net capital", justify="right", overflow="fold")
    table.add_column("total loans", justify="right", overflow="fold")
    table.add_column("as of", overflow="fold")
    for exposure in report.banks:
        if bank is not None and exposure.bank != bank:
            continue
        f = exposure.figures
        if f is None:
            table.add_row(exposure.bank, Text("undeclared", style="yellow"), "", "")
        else:
            table.add_row(exposure.bank, fen(f.tier1_net_capital), fen(f.total_loans), f.as_of.isoformat())
    return table


def checks_table(report: ExposureReport, *, bank: str | None = None) -> Table:
    """One row per limit check: the bank's joint lending (partner "all"), then each partner."""
    block = "empty index" if report.index_block is None else f"block {report.index_block}"
    table = Table(title=f"Limit checks at {block} ({report.currency} yuan)", box=box.SIMPLE_HEAD)
    table.add_column("bank", overflow="fold")
    table.add_column("partner", overflow="fold")
    table.add_column("limit of", overflow="fold")
    for name in ("exposure", "limit", "ratio", "headroom"):
        table.add_column(name, justify="right", overflow="fold")
    table.add_column("status", overflow="fold")
    for exposure in report.banks:
        if bank is not None and exposure.bank != bank:
            continue
        for check in exposure.checks:
            table.add_row(
                check.bank,
                check.partner or "all",
                _rule_label(check),
                fen(check.exposure),
                fen(check.limit_amount),
                percent_text(check.ratio),
                fen(check.headroom),
                Text(check.status.value, style=STATUS_STYLES[check.status]),
            )
    return table


def check_lines(report: ExposureReport, *, bank: str | None = None) -> list[Text]:
    """The checks as two lines each, for widths where the table would cut its figures."""
    out: list[Text] = []
    for exposure in report.banks:
        if bank is not None and exposure.bank != bank:
            continue
        for check in exposure.checks:
            who = f"{check.bank} joint lending" if check.partner is None else f"{check.bank} with {check.partner}"
            head = Text(f"{who}, limit {_rule_label(check)}: ")
            head.append(check.status.value, style=STATUS_STYLES[check.status])
            figures = [f"exposure {fen(check.exposure)}"]
            if check.base is not None:
                figures.append(f"limit {fen(check.limit_amount)}")
                figures += [f"ratio {percent_text(check.ratio)}", f"headroom {fen(check.headroom)}"]
            out += [head, Text("  " + ", ".join(figures))]
    return out


def figure_lines(report: ExposureReport, *, bank: str | None = None) -> list[Text]:
    out = []
    for exposure in report.banks:
        f = exposure.figures
        if bank is not None and exposure.bank != bank:
            continue
        if f is None:
            out.append(Text(f"{exposure.bank}: ").append("undeclared", style="yellow"))
        else:
            out.append(Text(f"{exposure.bank}: tier-1 net capital {fen(f.tier1_net_capital)}, "
                            f"total loans {fen(f.total_loans)}, as of {f.as_of.isoformat()}"))  # fmt: skip
    return out


def print_report(console: Console, report: ExposureReport, *, bank: str | None = None) -> None:
    """Figures, checks and the loans behind each breach; as lines where a table would fold its figures."""
    block = "empty index" if report.index_block is None else f"block {report.index_block}"
    _print_fitting(console, figures_table(report, bank=bank), f"Declared figures ({report.currency} yuan)",
                   figure_lines(report, bank=bank))  # fmt: skip
    _print_fitting(console, checks_table(report, bank=bank), f"Limit checks at {block} ({report.currency} yuan)",
                   check_lines(report, bank=bank))  # fmt: skip
    for check in report.breaches:
        if bank is None or check.bank == bank:
            console.print(breach_loans_table(check))


def _print_fitting(console: Console, table: Table, title: str, lines: list[Text]) -> None:
    if Measurement.get(console, console.options.update_width(UNLIMITED), table).maximum <= console.width:
        console.print(table)
        return
    console.print(Text(title, style="bold"))
    for line in lines:
        console.print(line)


def breach_loans_table(check: LimitCheck, *, limit: int = MAX_LOANS_SHOWN) -> Table:
    """The loans that make up a breach, largest first; the rest summed in one line."""
    who = f"{check.bank} joint lending" if check.partner is None else f"{check.bank} with {check.partner}"
    title = f"Breach: {who} over {_rule_label(check)} by {fen(-(check.headroom or 0))}"
    table = Table(title=title, box=box.SIMPLE_HEAD)
    table.add_column("loan", overflow="fold")
    table.add_column("servicer", overflow="fold")
    table.add_column("outstanding", justify="right", overflow="fold")
    for loan in check.contributions[:limit]:
        table.add_row(loan.loan_id, loan.servicer, fen(loan.outstanding))
    rest = check.contributions[limit:]
    more = len(rest) + check.unlisted_loans
    if more:
        table.add_row(f"... {more:,} more", "", fen(sum(c.outstanding for c in rest) + check.unlisted_outstanding))
    return table
