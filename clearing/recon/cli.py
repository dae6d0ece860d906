"""`colend recon run|breaks`: run a reconciliation and work its breaks from the command line.

Exit codes of `recon run`: 0 RECONCILED, 1 BREAKS, 3 RECONCILED_WITH_PENDING, 4 INCOMPLETE (rejects or a
lagging index), 2 for errors (bad arguments, mapping, unreadable source), printed as `error <code>: ...`.
With `--node URL` (and `--deployment FILE` for a chain other than Colend's node) the index is synced first.
(`recon limits` is the policy package's: `clearing.policy.cli`.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from clearing.cli_errors import EXIT_ERROR, fail
from clearing.errors import ClearingError
from clearing.indexer.store import IndexStore
from clearing.recon.break_store import BreakStore
from clearing.recon.breaks import BreakState, age_bucket
from clearing.recon.rules import MatchRules
from clearing.recon.run import STAGES, IndexSync, RunResult, run_reconciliation
from clearing.report.chart import write_chart_and_html
from clearing.report.export import statement_csv, to_json, write_outputs
from clearing.report.table import print_result
from contracts.errors import ContractsError
from contracts.money import fen

BREAKS_DB_NAME = "recon-breaks.sqlite"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from exc


def _default_breaks_db(index: str) -> Path:
    return Path(index).resolve().parent / BREAKS_DB_NAME


def register(commands: argparse._SubParsersAction) -> None:
    """Add `run` and `breaks list|assign|resolve|history` to the `colend recon` commands."""
    run = commands.add_parser("run", help="reconcile one bank and print its statement")
    run.add_argument("--index", required=True, help="LevelDB query index directory")
    run.add_argument("--bank", required=True, help="bank id, e.g. WEBANK")
    run.add_argument("--books", required=True, help="books file (.csv/.jsonl/.db) or SQL URL")
    run.add_argument("--mapping", required=True, help="column-mapping TOML file")
    run.add_argument("--as-of", type=_date, default=None, help="as-of date for ageing (default: today, UTC)")
    run.add_argument("--format", choices=("table", "json", "csv"), default="table")
    run.add_argument("--out", help="directory for statement.json/csv, breaks.csv, rejects.csv, PNG and HTML")
    run.add_argument("--breaks-db", help=f"break store (default: {BREAKS_DB_NAME} beside the index)")
    run.add_argument("--abs-tol-fen", type=int, default=0, help="absolute amount tolerance in fen")
    run.add_argument("--rel-tol-bps", type=int, default=0, help="relative amount tolerance in basis points")
    run.add_argument("--date-window", type=int, default=0, help="value-date window in days")
    run.add_argument("--no-grouping", action="store_true", help="skip 1:N / N:1 matching by reference")
    run.add_argument("--chain-head", type=int, help="chain head the index must have reached (else INCOMPLETE)")
    run.add_argument("--node", help="JSON-RPC URL of a node: sync the index from it first")
    run.add_argument("--deployment", help="with --node: the suite's deployment file (default: a Colend node's own)")
    run.set_defaults(func=cmd_run)

    breaks = commands.add_parser("breaks", help="list and work breaks")
    actions = breaks.add_subparsers(dest="breaks_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--breaks-db", required=True, help="break store written by `recon run`")
    common.add_argument("--bank", required=True)
    listing = actions.add_parser("list", parents=[common], help="breaks with state and age")
    listing.add_argument("--state", choices=[s.value for s in BreakState], action="append")
    listing.add_argument("--as-of", type=_date, default=None)
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(func=cmd_breaks_list)
    assign = actions.add_parser("assign", parents=[common], help="OPEN/ASSIGNED -> ASSIGNED")
    assign.add_argument("--id", required=True, dest="break_id")
    assign.add_argument("--to", required=True, dest="assignee")
    assign.add_argument("--by", required=True, dest="actor")
    assign.add_argument("--comment", required=True)
    assign.set_defaults(func=cmd_breaks_assign)
    resolve = actions.add_parser("resolve", parents=[common], help="ASSIGNED -> RESOLVED")
    resolve.add_argument("--id", required=True, dest="break_id")
    resolve.add_argument("--by", required=True, dest="actor")
    resolve.add_argument("--comment", required=True)
    resolve.set_defaults(func=cmd_breaks_resolve)
    history = actions.add_parser("history", parents=[common], help="audit trail of one break")
    history.add_argument("--id", required=True, dest="break_id")
    history.set_defaults(func=cmd_breaks_history)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def cmd_run(args: argparse.Namespace) -> int:
    console = Console()
    err = Console(stderr=True)
    if args.deployment and not args.node:
        err.print("[red]error clearing.bad_arguments[/]: --deployment names the suite on a node: give --node URL too")
        return EXIT_ERROR
    as_of = args.as_of or _now().date()
    rules = MatchRules(
        amount_abs_fen=args.abs_tol_fen,
        amount_rel_bps=args.rel_tol_bps,
        date_window_days=args.date_window,
        group_by_reference=not args.no_grouping,
    )
    progress = Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    try:
        with progress:
            task = progress.add_task("start", total=len(STAGES))

            def on_stage(stage: str, number: int, total: int) -> None:
                progress.update(task, description=stage, completed=number - 1, total=total)

            result = run_reconciliation(
                args.index,
                args.bank,
                args.books,
                args.mapping,
                as_of=as_of,
                rules=rules,
                break_store=args.breaks_db or _default_breaks_db(args.index),
                recorded_at=_now(),
                chain_head=args.chain_head,
                sync=_node_sync(args),
                progress=on_stage,
            )
            progress.update(task, completed=len(STAGES))
    except (ClearingError, ContractsError) as exc:
        return fail(exc)
    _emit(console, result, args.format)
    if args.out:
        paths = {**write_outputs(result, args.out), **write_chart_and_html(result, args.out)}
        err.print("wrote " + ", ".join(str(p) for p in paths.values()), highlight=False)
    return result.exit_code


def _node_sync(args: argparse.Namespace) -> IndexSync | None:
    """With --node, the index is created if missing and brought up to the node's head before matching."""
    if not args.node:
        return None
    from clearing.indexer.follower import node_sync  # deferred: web3 is only needed when following a node

    IndexStore(args.index).close()
    return node_sync(args.node, args.deployment)


def _emit(console: Console, result: RunResult, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(to_json(result) + "\n")
    elif fmt == "csv":
        sys.stdout.write(statement_csv(result))
    else:
        print_result(console, result)


def cmd_breaks_list(args: argparse.Namespace) -> int:
    as_of = args.as_of or _now().date()
    states = tuple(BreakState(s) for s in args.state) if args.state else None
    try:
        with BreakStore(args.breaks_db) as store:
            found = store.list_breaks(args.bank, states)
    except ClearingError as exc:
        return fail(exc)
    if args.format == "json":
        rows = [
            {
                "break_id": b.break_id,
                "type": b.break_type,
                "state": b.state.value,
                "assignee": b.assignee,
                "first_seen": b.first_seen.isoformat(),
                "age_bucket": age_bucket(b.first_seen, as_of),
                "difference": b.difference,
                "detail": b.detail,
            }
            for b in found
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    table = Table(title=f"Breaks of {args.bank} as of {as_of}")
    for column in ("break id", "state", "assignee", "first seen", "age", "difference", "detail"):
        table.add_column(column)
    for b in found:
        table.add_row(
            b.break_id,
            b.state.value,
            b.assignee or "",
            b.first_seen.isoformat(),
            age_bucket(b.first_seen, as_of),
            fen(b.difference),
            b.detail or "",
        )
    Console().print(table)
    return 0


def _transition(args: argparse.Namespace, move: Callable[..., object], **extra: str) -> int:
    """One state change of a break (BreakStore.assign, .resolve) by `--by` with its comment, made now."""
    try:
        with BreakStore(args.breaks_db) as store:
            move(store, args.bank, args.break_id, actor=args.actor, at=_now(), comment=args.comment, **extra)
    except ClearingError as exc:
        return fail(exc)
    return 0


def cmd_breaks_assign(args: argparse.Namespace) -> int:
    return _transition(args, BreakStore.assign, assignee=args.assignee)


def cmd_breaks_resolve(args: argparse.Namespace) -> int:
    return _transition(args, BreakStore.resolve)


def cmd_breaks_history(args: argparse.Namespace) -> int:
    try:
        with BreakStore(args.breaks_db) as store:
            store.get(args.bank, args.break_id)
            events = store.history(args.bank, args.break_id)
    except ClearingError as exc:
        return fail(exc)
    table = Table(title=f"Audit trail of {args.break_id}")
    for column in ("#", "at", "actor", "from", "to", "comment"):
        table.add_column(column)
    for e in events:
        table.add_row(str(e.seq), e.at, e.actor, e.from_state or "", e.to_state, e.comment)
    Console().print(table)
    return 0
