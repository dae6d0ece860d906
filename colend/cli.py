"""The `colend` command: one argparse tree, each package contributing its own subcommands.

Each module in COMMAND_MODULES exposes `register(subparsers)`, adding parsers whose `func(args) -> int`
runs the command; the exit code is what `func` returns.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "contracts.cli",
    "node.node_cli",
    "clearing.indexer.cli",
    "clearing.cli",
    "clearing.service.cli",
    "network.cli",
    "colend.demo",
    "colend.consortium.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colend", description="Colend: consortium settlement for co-lending banks")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
