"""`colend index sync|status`: run the chain follower on its own, once or continuously."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from clearing.errors import ClearingError
from clearing.indexer.follower import locate_suite, sync_from_node
from clearing.indexer.store import IndexStore
from contracts.errors import ContractsError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("index", help="follow a node and keep the clearing query index")
    sub = parser.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    sync = sub.add_parser("sync", help="bring the index up to the node's head (resumes from its cursor)")
    sync.add_argument("--node", required=True, help="JSON-RPC URL of a node (Colend's, or any with --deployment)")
    sync.add_argument("--deployment", help="deployment file of the suite (default: ask a Colend node for its own)")
    sync.add_argument("--index", required=True, help="LevelDB index directory (created if missing)")
    sync.add_argument("--follow", action="store_true", help="keep following new blocks until interrupted")
    sync.add_argument("--poll-s", type=float, default=1.0, help="poll interval with --follow")
    sync.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    try:
        progress = Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), console=err, transient=True,
                            disable=not err.is_terminal)  # fmt: skip
        with IndexStore(args.index) as index, progress:
            task = progress.add_task("blocks", total=None)

            def on_progress(applied: int, head: int) -> None:
                progress.update(task, completed=applied + 1, total=head + 1)

            suite = locate_suite(args.node, args.deployment)
            report = asyncio.run(sync_from_node(args.node, index, suite=suite, progress=on_progress))
            while args.follow:
                asyncio.run(asyncio.sleep(args.poll_s))
                report = asyncio.run(sync_from_node(args.node, index, suite=suite, progress=on_progress))
    except (ClearingError, ContractsError) as exc:
        print(f"error {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    summary = {"head": report.head, "lastBlock": report.last_block, "lag": report.lag,
               "blocksApplied": report.blocks_applied, "recordsWritten": report.records_written}  # fmt: skip
    print(json.dumps(summary))
    return 0
