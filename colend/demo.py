"""`colend demo`: four banks and a regulator through a day of joint lending, clearing, settlement and reconciliation.

It creates a consortium with fresh keys in a folder and starts its node(s); each bank's systems then sign
their own transactions with their own key and send them to their own node: the servicers post the day's
loans and movements (colend/day.py), partners post the fees they owe, and the regulator's attempt to write
is refused. The banks close, net, confirm and settle the clearing cycle (four eyes on every payment
reference). Each bank's books, exported in its own format with its own planted mistakes, are reconciled
against the chain. A summary follows; the consortium stays up for exploring until Ctrl-C, or, with
--check, the run ends and its exit code says whether every node agreed, every invariant held and every
planted mistake was found as exactly its break.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from rich.console import Console
from web3 import Web3

from clearing.errors import ClearingError
from clearing.index_store import IndexStore
from clearing.indexer.follower import sync_from_node
from clearing.recon.rules import MatchRules
from clearing.recon.run import RunResult, run_reconciliation
from clearing.report.export import write_outputs
from colend import demo_summary as summary
from colend.day import BANKS, REGULATOR, LendingDay, loan_input, plan_day
from colend.demo_books import PlantedBreak, plant_mistakes, write_books
from colend.demo_checks import (
    Finding,
    all_passed,
    allocations_sum_exactly,
    cycle_settled,
    net_positions_sum_to_zero,
    nodes_agree,
    planted_breaks_found,
    read_heads,
    regulator_refused,
)
from colend.demo_network import DemoNetwork, single_node_network
from colend.errors import ColendError
from colend.posting import BankSession, Posted, post_day
from colend.settlement import ChainDesk, SettlementLog, settle_cycle
from contracts.errors import ContractReverted, ContractsError
from contracts.rpc_client import SuiteClient

DEFAULT_LOANS = 24
DEFAULT_SEED = 20261124
CLOSING_BANK = "XWBANK"  # any member may close and net; the day's last poster does it here
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="four banks and a regulator: a day of joint lending, clearing, settlement and reconciliation"
    )
    parser.add_argument("--dir", type=Path, help="working directory (default: a new temporary directory)")
    parser.add_argument("--loans", type=int, default=DEFAULT_LOANS, help=f"joint loans in the day (default {DEFAULT_LOANS})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the day's seed: same seed, same day")
    parser.add_argument("--check", action="store_true", help="run to the end and exit; non-zero if any check fails")
    parser.set_defaults(func=run)


@dataclass
class DayOutcome:
    """Everything the day produced that the summary shows and the checks judge."""

    posted: dict[str, Posted]
    log: SettlementLog
    results: dict[str, RunResult] = field(default_factory=dict)
    planted: dict[str, list[PlantedBreak]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    out = console or Console()
    if args.loans < 1:
        out.print("error colend.bad_arguments: --loans must be at least 1")
        return EXIT_USAGE
    root = args.dir or Path(tempfile.mkdtemp(prefix="colend-demo-"))
    _heading(out, "Colend demo: four banks and a regulator")
    out.print(f"working directory: {root}")
    day = plan_day(args.loans, args.seed)
    try:
        network = single_node_network(root, BANKS, (REGULATOR,))
        network.start()
    except ColendError as err:
        out.print(f"error {err.code}: {err.message}")
        return EXIT_CHECK_FAILED
    findings: list[Finding] = []
    try:
        outcome = _run_day(out, root, day, network)
        findings = outcome.findings
        _print_summary(out, day, network, outcome)
        if not args.check:
            _stay_up(out, network)
    except (ColendError, ClearingError, ContractsError) as err:
        out.print(f"error {err.code}: {err.message}")
    finally:
        codes = network.stop()
        out.print("stopped: " + ", ".join(f"{name} (exit {code})" for name, code in codes.items()))
    passed = bool(findings) and all_passed(findings)
    out.print(f"demo {'passed every check' if passed else 'FAILED'}")
    return EXIT_OK if passed else EXIT_CHECK_FAILED


def _run_day(out: Console, root: Path, day: LendingDay, network: DemoNetwork) -> DayOutcome:
    pids = network.pids()
    for name, url in network.node_urls.items():
        out.print(f"node {name} running at {url} (pid {pids[name]}, log {network.launchers[name].log_path})")
    sessions = {bank: _session(network, bank) for bank in BANKS}
    out.print(f"the day: {len(day.loans)} joint loans (seed {day.seed}); each bank posts its own part to its own node")
    started = time.perf_counter()
    posted = post_day(day, sessions)
    out.print(f"posted {sum(p.txs for p in posted.values())} transactions in {time.perf_counter() - started:.1f} s")
    refusal = _regulator_tries_to_write(_session(network, REGULATOR), day)
    out.print(f"the regulator tried to register a loan and was refused: {refusal}")
    log = settle_cycle(ChainDesk(sessions), BANKS, closer=CLOSING_BANK, payment_date=f"{day.as_of:%Y%m%d}")
    out.print(f"cycle {log.netting.cycle} closed by {CLOSING_BANK}, netted, confirmed, paid and acknowledged: {log.status}")
    outcome = DayOutcome(posted, log)
    frames = _reconcile_every_bank(out, root, day, network, outcome)
    outcome.findings = [
        nodes_agree(read_heads(network.node_urls)),
        regulator_refused(refusal),
        net_positions_sum_to_zero(log.netting.positions),
        cycle_settled(log),
        allocations_sum_exactly(
            day,
            frames.filter(pl.col("kind").is_in(["DRAWDOWN_ALLOCATION", "REPAYMENT_ALLOCATION"])),
            frames.filter(pl.col("kind") == "LOAN_TRANCHE"),
        ),
        *(
            planted_breaks_found(bank, outcome.planted[bank], r.breaks["break_id"].to_list(), r.statement.overall.residual)
            for bank, r in outcome.results.items()
        ),
    ]
    return outcome


def _session(network: DemoNetwork, member: str) -> BankSession:
    client = SuiteClient(Web3(Web3.HTTPProvider(network.url(member))), network.contracts)
    return BankSession(member, network.accounts[member], client)


def _regulator_tries_to_write(regulator: BankSession, day: LendingDay) -> str | None:
    """An observer may read everything and write nothing: the chain refuses its transaction by name."""
    loan = loan_input(day.loans[0])
    try:
        regulator.client.send(regulator.account, "CoLending", "registerLoan", loan)
    except ContractReverted as err:
        return err.error.name if err.error is not None else err.message
    return None


def _reconcile_every_bank(out: Console, root: Path, day: LendingDay, network: DemoNetwork, outcome: DayOutcome) -> pl.DataFrame:
    """Index each node, write each bank's books (its own view, its own mistakes), reconcile each bank.

    Returns every bank's chain records, for the allocation check.
    """
    frames: list[pl.DataFrame] = []
    for folder in ("index", "breaks"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    indexes = {name: IndexStore(root / "index" / name) for name in network.node_urls}
    try:
        for name, index in indexes.items():
            report = asyncio.run(sync_from_node(network.node_urls[name], index))
            out.print(f"indexed node {name}: blocks 0..{report.last_block}, {report.records_written} records")
        for bank in BANKS:
            index = indexes[network.member_node[bank]]
            chain = index.bank_frame(bank)
            frames.append(chain)
            books, outcome.planted[bank] = plant_mistakes(chain, bank, day.seed, day.as_of)
            books_path, mapping_path = write_books(books, bank, root / "books")
            result = run_reconciliation(
                index, bank, books_path, mapping_path, as_of=day.as_of, rules=MatchRules(),
                break_store=root / "breaks" / f"{bank.lower()}.sqlite",
            )  # fmt: skip
            outcome.results[bank] = result
            write_outputs(result, root / "report" / bank.lower())
            out.print(f"{bank}: books {books_path.name} ({books.height} rows) reconciled: {result.statement.verdict.value}")
    finally:
        for index in indexes.values():
            index.close()
    return pl.concat(frames)


def _print_summary(out: Console, day: LendingDay, network: DemoNetwork, outcome: DayOutcome) -> None:
    members = [
        summary.Member(m, "OBSERVER" if m == REGULATOR else "BANK", network.url(m), network.accounts[m].address)
        for m in (*BANKS, REGULATOR)
    ]
    _heading(out, "Summary")
    for t in (
        summary.members_table(members),
        summary.loans_table(day),
        summary.postings_table(outcome.posted),
        summary.positions_table(outcome.log),
        summary.payments_table(outcome.log),
        summary.reconciliation_table(outcome.results),
        summary.breaks_table(outcome.results, outcome.planted),
        summary.checks_table(outcome.findings),
    ):
        summary.print_listing(out, t)
    out.print(f"books, mappings and reconciliation reports: {network.root / 'books'}, {network.root / 'report'}")


def _heading(out: Console, title: str) -> None:
    """A rule, then the title on its own line: a rule's inline title would be cut short in a narrow terminal."""
    out.rule()
    out.print(title, style="bold")


def _stay_up(out: Console, network: DemoNetwork) -> None:
    """Keep the consortium running for exploring until Ctrl-C (SIGINT) or SIGTERM."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    out.print("the consortium keeps running: query the nodes above with any Ethereum client; Ctrl-C stops everything")
    try:
        while not stop.wait(0.5):
            if not all(launcher.running() for launcher in network.launchers.values()):
                out.print("a node exited; stopping")
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
