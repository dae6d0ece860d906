"""`colend demo`: four banks and a regulator through a day of joint lending, clearing, settlement and reconciliation.

It creates a consortium with fresh keys in a folder and starts its nodes (colend/demo/network.py) and a
clearing service per member (colend/demo/services.py). Each bank's systems then sign their own transactions
with their own key and send them to their own node: the servicers post the day's loans and movements
(colend/demo/day.py), every bank its declared figures, partners the fees they owe; the regulator's attempt to
write is refused. The banks close and net the clearing cycle, then confirm, pay (four eyes) and acknowledge
through their services. Each bank's books, exported in its own format with its own planted mistakes
(colend/demo/books.py), are reconciled by its service. A summary follows; everything stays up for
exploring until Ctrl-C, or, with --check, the run ends and its exit code says whether every node agreed,
every invariant held and every planted mistake was found as exactly its break (colend/demo/checks.py).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from rich.console import Console
from web3 import Web3

from clearing.errors import ClearingError
from clearing.indexer.follower import sync_from_node
from clearing.indexer.store import IndexStore
from clearing.policy import ExposureReport
from clearing.policy import report as exposure_report
from colend.demo import summary
from colend.demo.bank_recon import BankRecon
from colend.demo.books import PlantedBreak, books_paths, plant_mistakes, write_books
from colend.demo.checks import (
    Finding,
    all_passed,
    allocations_sum_exactly,
    cycle_settled,
    limits_reported,
    net_positions_sum_to_zero,
    nodes_agree,
    planted_breaks_found,
    read_heads,
    regulator_refused,
)
from colend.demo.day import BANKS, REGULATOR, LendingDay, loan_input, plan_day
from colend.demo.network import NETWORKS, DemoNetwork
from colend.demo.posting import BankSession, Posted, post_day
from colend.demo.services import ServiceDesk, ServiceSet, demo_services, reconcile_through_service
from colend.demo.settlement import ChainDesk, SettlementLog, settle_cycle
from colend.errors import BadArguments, ColendError, ServiceCallFailed
from colend.launcher import ProcessLauncher
from contracts.errors import ContractReverted, ContractsError
from contracts.rpc_client import SuiteClient

DEFAULT_LOANS = 24
DEFAULT_SEED = 20261124
DEFAULT_NETWORK = "consortium"
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
    parser.add_argument(
        "--network", choices=sorted(NETWORKS), default=DEFAULT_NETWORK,
        help=f"a validator node per bank and an observer (consortium), or one node for everyone (default {DEFAULT_NETWORK})",
    )  # fmt: skip
    parser.set_defaults(func=run)


@dataclass
class DayOutcome:
    """Everything the day produced that the summary shows and the checks judge."""

    posted: dict[str, Posted]
    log: SettlementLog
    recons: dict[str, BankRecon] = field(default_factory=dict)
    planted: dict[str, list[PlantedBreak]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    exposures: ExposureReport | None = None


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    out = console or Console()
    if args.loans < 1:
        err = BadArguments("--loans must be at least 1")
        out.print(f"error {err.code}: {err.message}")
        return EXIT_USAGE
    root = args.dir or Path(tempfile.mkdtemp(prefix="colend-demo-"))
    _heading(out, "Colend demo: four banks and a regulator")
    out.print(f"working directory: {root}")
    day = plan_day(args.loans, args.seed)
    try:
        network = NETWORKS[args.network](root, BANKS, (REGULATOR,))
        services = demo_services(network, BANKS, REGULATOR, {bank: books_paths(bank, root / "books") for bank in BANKS})
    except ColendError as err:
        out.print(f"error {err.code}: {err.message}")
        return EXIT_CHECK_FAILED
    findings: list[Finding] = []
    stayed_up = True
    try:
        started = time.perf_counter()
        _start(network, services)
        took = time.perf_counter() - started
        out.print(f"{len(network.launchers)} node(s) and {len(services.launchers)} clearing services up in {took:.0f} s")
        outcome = _run_day(out, root, day, network, services)
        findings = outcome.findings
        _print_summary(out, day, network, services, outcome)
        if not args.check:
            stayed_up = _stay_up(out, [*network.launchers.values(), *services.launchers.values()])
    except (ColendError, ClearingError, ContractsError) as err:
        out.print(f"error {err.code}: {err.message}")
    except KeyboardInterrupt:
        out.print("interrupted")
    finally:
        codes = {f"{member.lower()} service": code for member, code in services.stop().items()}
        codes.update(network.stop())
        out.print("stopped: " + ", ".join(f"{name} (exit {code})" for name, code in codes.items()))
    passed = bool(findings) and all_passed(findings) and stayed_up
    out.print(f"demo {'passed every check' if passed else 'FAILED'}")
    return EXIT_OK if passed else EXIT_CHECK_FAILED


def _start(network: DemoNetwork, services: ServiceSet) -> None:
    """Nodes and services start side by side (a service waits for its node to answer): start-up is the slow part."""
    with ThreadPoolExecutor(2, thread_name_prefix="start") as pool:
        jobs = [pool.submit(network.start), pool.submit(services.start)]
        for job in jobs:
            job.result()


def _run_day(out: Console, root: Path, day: LendingDay, network: DemoNetwork, services: ServiceSet) -> DayOutcome:
    pids = network.pids()
    for name, url in network.node_urls.items():
        out.print(f"node {name} running at {url} (pid {pids[name]}, log {network.launchers[name].log_path})")
    for member, url in services.urls.items():
        launcher = services.launchers[member]
        pid = launcher.proc.pid if launcher.proc else "?"
        out.print(f"{member}'s clearing service running at {url} (pid {pid}, log {launcher.log_path})")
    sessions = {bank: _session(network, bank) for bank in BANKS}
    out.print(f"the day: {len(day.loans)} joint loans (seed {day.seed}); each bank posts its own part to its own node")
    started = time.perf_counter()
    posted = post_day(day, sessions)
    out.print(f"posted {sum(p.txs for p in posted.values())} transactions in {time.perf_counter() - started:.1f} s")
    refusal = _regulator_tries_to_write(_session(network, REGULATOR), day)
    out.print(f"the regulator tried to register a loan and was refused: {refusal}")
    service_refusal = _regulator_tries_its_service(services)
    out.print(f"the regulator tried to start a run through its service and was refused: {service_refusal}")
    desk = ServiceDesk(services, ChainDesk(sessions))
    log = settle_cycle(desk, BANKS, closer=CLOSING_BANK, payment_date=f"{day.as_of:%Y%m%d}")
    out.print(f"cycle {log.netting.cycle} closed by {CLOSING_BANK}, netted, confirmed, paid and acknowledged: {log.status}")
    outcome = DayOutcome(posted, log)
    frames = _reconcile_every_bank(out, root, day, network, outcome, services)
    outcome.findings = [
        nodes_agree(read_heads(network.node_urls)),
        regulator_refused(refusal, service_refusal),
        limits_reported(outcome.exposures, BANKS),
        net_positions_sum_to_zero(log.netting.positions),
        cycle_settled(log),
        allocations_sum_exactly(
            day,
            frames.filter(pl.col("kind").is_in(["DRAWDOWN_ALLOCATION", "REPAYMENT_ALLOCATION"])),
            frames.filter(pl.col("kind") == "LOAN_TRANCHE"),
        ),
        *(
            planted_breaks_found(bank, outcome.planted[bank], r.break_ids, r.residual, r.verdict)
            for bank, r in outcome.recons.items()
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


def _regulator_tries_its_service(services: ServiceSet) -> str | None:
    """The regulator's key reads everything and writes nothing: its service answers a write with 403."""
    (key,) = services.keys[REGULATOR]
    try:
        services.call(REGULATOR, key.key_id, "POST", "/runs")
    except ServiceCallFailed as err:
        return str(err.data) if err.data else err.message
    return None


def _reconcile_every_bank(
    out: Console, root: Path, day: LendingDay, network: DemoNetwork, outcome: DayOutcome, services: ServiceSet
) -> pl.DataFrame:
    """Index each node, write each bank's books (its own view, its own mistakes), have each bank's clearing
    service reconcile them.

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
            books_path, _ = write_books(books, bank, root / "books")
            outcome.recons[bank] = reconcile_through_service(services, bank, outcome.log.netting.cycle)
            out.print(f"{bank}: books {books_path.name} ({books.height} rows) reconciled by its service: "
                      f"{outcome.recons[bank].verdict}")  # fmt: skip
        outcome.exposures = exposure_report(indexes[network.member_node[REGULATOR]])
    finally:
        for index in indexes.values():
            index.close()
    return pl.concat(frames)


def _print_summary(out: Console, day: LendingDay, network: DemoNetwork, services: ServiceSet, outcome: DayOutcome) -> None:
    members = [
        summary.Member(m, "OBSERVER" if m == REGULATOR else "BANK", network.url(m), network.accounts[m].address)
        for m in (*BANKS, REGULATOR)
    ]
    _heading(out, "Summary")
    summary.print_listing(out, summary.members_table(members))
    summary.print_services(out, services.urls, services.keys)
    for t in (
        summary.loans_table(day),
        summary.postings_table(outcome.posted),
        summary.positions_table(outcome.log),
        summary.payments_table(outcome.log),
        summary.reconciliation_table(outcome.recons),
        summary.breaks_table(outcome.recons, outcome.planted),
        *([summary.limits_table(outcome.exposures)] if outcome.exposures else []),
        summary.checks_table(outcome.findings),
    ):
        summary.print_listing(out, t)
    out.print(f"books and their mappings: {network.root / 'books'}; services' data and logs: {network.root / 'services'}")


def _heading(out: Console, title: str) -> None:
    """A rule, then the title on its own line: a rule's inline title would be cut short in a narrow terminal."""
    out.rule()
    out.print(title, style="bold")


def _stay_up(out: Console, launchers: list[ProcessLauncher]) -> bool:
    """Keep the consortium running for exploring until Ctrl-C (SIGINT) or SIGTERM: True; a child died: False."""
    stop = threading.Event()
    # Both signals only set the event: a Ctrl-C landing inside a print must not unwind the demo half-way.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        out.print("the consortium keeps running: open the dashboards with the API keys above, query the nodes with "
                  "any Ethereum client; Ctrl-C stops everything")  # fmt: skip
        while not stop.wait(0.5):
            if not all(launcher.running() for launcher in launchers):
                out.print("a node or service exited on its own; stopping the others")
                return False
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return True
