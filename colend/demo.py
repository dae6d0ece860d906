"""`colend demo`: a local consortium from nothing to a reconciled, settled clearing cycle.

It creates a chain (three banks, a regulator), starts a real node process, and then acts as the banks' own
systems would: it signs transactions with each bank's key and sends them over standard JSON-RPC. It registers
and funds joint loans, posts repayments in batches, and shows the regulator being refused. It clears a
cycle through netting, confirmations, payments and acknowledgements to SETTLED. Finally it indexes the chain
and reconciles one bank's books export (with three planted differences) against it. Everything it writes
goes into one directory; the node is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
from eth_account import Account
from rich.console import Console
from web3 import Web3

from clearing.index_store import IndexStore
from clearing.indexer.follower import sync_from_node
from clearing.recon.rules import MatchRules
from clearing.recon.run import run_reconciliation
from clearing.report.chart import write_chart_and_html
from clearing.report.export import write_outputs
from clearing.report.table import print_result
from colend.errors import NodeStartFailed
from colend.launcher import NodeLauncher
from colend.ports import free_loopback_port
from contracts.enums import CYCLE_STATUS
from contracts.errors import ContractReverted
from contracts.ids import bank_id, borrower_hash, id_text, text_id
from contracts.money import fen
from contracts.rpc_client import SuiteClient
from contracts.walkthrough import net_positions_table

BANKS = ("WEBANK", "MYBANK", "XWBANK")
RECONCILED_BANK = "MYBANK"
NODE_START_TIMEOUT_S = 60
BOOKS_MAPPING = """\
# MYBANK's core-banking export: one row per fact, amounts in yuan with two decimals.
[columns]
kind = "record_type"
key = "business_key"
amount = "amount_cny"
value_date = "value_date"
status = "status"
counterparty = "counterparty"
loan_id = "loan_no"
cycle_id = "cycle_no"
reference = "reference"

[constants]
currency = "CNY"

[format]
date = "%Y-%m-%d"
amount_unit = "yuan"
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run a local consortium: loans, clearing, settlement, reconciliation")
    parser.add_argument("--dir", type=Path, help="working directory (default: a new temporary directory)")
    parser.add_argument("--loans", type=int, default=20, help="joint loans to originate (default 20)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    out = console or Console()
    root = args.dir or Path(tempfile.mkdtemp(prefix="colend-demo-"))
    if args.loans < 1:
        out.print("[red]--loans must be at least 1[/red]")
        return 2
    out.rule("Colend demo: a local consortium")
    out.print(f"working directory: {root}")
    info = _init_chain(root / "node")
    with _running_node(root / "node", out) as url:
        client = SuiteClient(Web3(Web3.HTTPProvider(url)), info["contracts"])
        keys = {name: Account.from_key(_key(info, name)) for name in (*BANKS, "REGULATOR")}
        _originate(out, client, keys, args.loans)
        settled = _clear_cycle(out, client, keys)
        index_dir = root / "index"
        with IndexStore(index_dir) as index:
            report = asyncio.run(sync_from_node(url, index))
            out.print(f"indexed blocks 0..{report.last_block}: {report.records_written} records, lag {report.lag}")
            books = _books_export(index, root / "books")
        result = run_reconciliation(
            index_dir, RECONCILED_BANK, books, root / "books" / "mapping.toml",
            as_of=dt.date(2026, 11, 24), rules=MatchRules(date_window_days=1), break_store=root / "breaks.sqlite",
        )  # fmt: skip
        out.rule(f"Reconciliation of {RECONCILED_BANK}'s books against the chain")
        print_result(out, result)
        written = {**write_outputs(result, root / "report"), **write_chart_and_html(result, root / "report")}
    out.print(f"report: {written['html']} (chart {written['png']})")
    out.print(f"cycle 1 is [bold]{settled}[/bold]; verdict for {RECONCILED_BANK}: [bold]{result.statement.verdict}[/bold]")
    expected = {"AMOUNT_MISMATCH", "MISSING_IN_BOOKS", "DATE_MISMATCH"}
    found = set(result.breaks["break_type"].to_list()) if result.breaks.height else set()
    return 0 if settled == "SETTLED" and found == expected else 1


# ---------------------------------------------------------------------------------------------- the chain


def _init_chain(node_dir: Path) -> dict:
    port = free_loopback_port()
    done = subprocess.run(
        [sys.executable, "-m", "colend", "init", "--dir", str(node_dir), "--banks", ",".join(BANKS),
         "--observers", "REGULATOR", "--rpc-port", str(port), "--block-period-ms", "50"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"colend init failed: {done.stderr.strip()}")
    info = json.loads(done.stdout)
    info["port"] = port
    return info


def _key(info: dict, name: str) -> bytes:
    return bytes.fromhex(Path(info["members"][name]["keyFile"]).read_text().strip().removeprefix("0x"))


@contextmanager
def _running_node(node_dir: Path, out: Console) -> Iterator[str]:
    """Starts `colend node run` and yields its RPC URL once it has started; stops it after."""
    node = NodeLauncher(node_dir / "node.toml", node_dir / "node.log", start_timeout_s=NODE_START_TIMEOUT_S)
    try:
        url = node.start()
    except NodeStartFailed as err:
        raise SystemExit(err.message) from err
    out.print(f"node running (pid {node.proc.pid if node.proc else '?'}) at {url}, log {node.log_path}")
    try:
        yield url
    finally:
        node.stop()


# ---------------------------------------------------------------------------------------------- the banks


def _loan(n: int) -> dict:
    """Loan n: WEBANK services; partners rotate so every bank holds positions in both directions."""
    partner = BANKS[1 + n % 2]
    shares = {"WEBANK": 3_000, partner: 7_000} if n % 3 else {"WEBANK": 2_000, "MYBANK": 5_000, "XWBANK": 3_000}
    return {
        "loanId": text_id(f"LN-2026-{n:06d}"), "servicer": bank_id("WEBANK"), "currency": b"CNY",
        "principal": 1_000_000 + 37_313 * n, "borrowerHash": borrower_hash(b"webank-demo-salt", f"borrower-{n}"),
        "termsHash": b"\x22" * 32, "tranches": [{"bank": bank_id(b), "shareBps": s} for b, s in shares.items()],
    }  # fmt: skip


def _originate(out: Console, client: SuiteClient, keys: dict, loans: int) -> None:
    we = keys["WEBANK"]
    batch = [_loan(n) for n in range(loans)]
    sent = client.send(we, "CoLending", "registerLoans", batch)
    out.print(f"WEBANK registered {len(sent.named('LoanRegistered'))} joint loans in block {sent.block_number}")
    try:
        client.send(keys["REGULATOR"], "CoLending", "registerLoan", _loan(loans))
    except ContractReverted as err:
        out.print(f"the regulator tried to write and was refused: [yellow]{err.error or err.message}[/yellow]")
    draws = [{"loanId": loan["loanId"], "drawdownId": text_id(f"DD-{n:06d}"), "amount": loan["principal"],
              "valueDate": 20261101} for n, loan in enumerate(batch)]  # fmt: skip
    sent = client.send(we, "CoLending", "drawdowns", draws)
    out.print(f"WEBANK disbursed all {loans} loans: {len(sent.named('EntryPosted'))} funder obligations posted")
    repayments = [
        {"loanId": loan["loanId"], "repaymentId": text_id(f"RP-{n:06d}-01"), "principal": loan["principal"] // 12,
         "interest": loan["principal"] * 45 // 10_000, "penalty": 0 if n % 5 else 1_234, "valueDate": 20261120}
        for n, loan in enumerate(batch)
    ]  # fmt: skip
    sent = client.send(we, "CoLending", "repayments", repayments)
    allocations = sent.named("RepaymentAllocated")
    out.print(f"first instalments collected: {len(allocations)} tranche allocations, each summing exactly")
    fee = {
        "entryId": text_id("FEE-2026-11-MY"), "payer": bank_id("MYBANK"), "payee": bank_id("WEBANK"), "amount": 88_800,
        "kind": 2, "loanId": b"\0" * 32, "valueDate": 20261121, "ref": text_id("SERVICING-FEE-NOV"),
    }  # fmt: skip
    client.send(keys["MYBANK"], "Clearing", "postEntry", fee)
    out.print(f"MYBANK posted its servicing fee to WEBANK: {fen(fee['amount'])} CNY")


def _clear_cycle(out: Console, client: SuiteClient, keys: dict) -> str:
    client.send(keys["XWBANK"], "Clearing", "closeCycle")
    netted = client.send(keys["XWBANK"], "Clearing", "netCycle", 1)
    out.print(net_positions_table(1, netted.named("NetPosition")))
    for name in BANKS:
        if client.call("Clearing", "position", 1, bank_id(name)) != 0:
            client.send(keys[name], "Clearing", "confirmCycle", 1)
    for ins in netted.named("SettlementInstruction"):
        payer, payee = id_text(ins["payer"]), id_text(ins["payee"])
        client.send(keys[payer], "Clearing", "recordPayment", 1, ins["index"], text_id(f"CNAPS-20261124-{ins['index']:03d}"))
        client.send(keys[payee], "Clearing", "acknowledgePayment", 1, ins["index"])
        out.print(f"{payer} paid {payee} {fen(ins['amount'])} CNY; {payee} acknowledged")
    return CYCLE_STATUS[client.call("Clearing", "cycleStatus", 1)]


# ---------------------------------------------------------------------------------------------- the books


def _books_export(index: IndexStore, books_dir: Path) -> Path:
    """MYBANK's own books as its core system exports them, with three differences planted for the demo."""
    books_dir.mkdir(parents=True, exist_ok=True)
    frame = index.bank_frame(RECONCILED_BANK).sort("kind", "key")
    drawdown_key = frame.filter(pl.col("kind") == "DRAWDOWN_ALLOCATION")["key"][0]
    missing_key = frame.filter(pl.col("kind") == "REPAYMENT_ALLOCATION")["key"][0]
    late_key = frame.filter(pl.col("kind") == "CLEARING_ENTRY")["key"][-1]
    frame = frame.filter(pl.col("key") != missing_key).with_columns(
        pl.when(pl.col("key") == drawdown_key).then(pl.col("amount") - 100).otherwise(pl.col("amount")).alias("amount"),
        pl.when(pl.col("key") == late_key).then(pl.col("value_date") + dt.timedelta(days=3)).otherwise(pl.col("value_date")),
    )
    export = frame.select(
        pl.col("kind").alias("record_type"),
        pl.col("key").alias("business_key"),
        pl.format(
            "{}{}.{}",
            pl.when(pl.col("amount") < 0).then(pl.lit("-")).otherwise(pl.lit("")),
            pl.col("amount").abs() // 100,
            (pl.col("amount").abs() % 100).cast(pl.Utf8).str.zfill(2),
        ).alias("amount_cny"),
        pl.col("value_date").dt.strftime("%Y-%m-%d").alias("value_date"),
        pl.col("status"),
        pl.col("counterparty"),
        pl.col("loan_id").alias("loan_no"),
        pl.col("cycle_id").alias("cycle_no"),
        pl.col("reference"),
    )
    path = books_dir / "mybank_books.csv"
    export.write_csv(path)
    (books_dir / "mapping.toml").write_text(BOOKS_MAPPING)
    return path
