"""The `colend` command: one argparse tree, each package contributing its own subcommands.

Each command's module exposes `register(subparsers)`, adding parsers whose `func(args) -> int` runs the
command; a command owned by several modules (a tuple) is a group this module makes, to whose subcommands each
module adds its own. Only the modules of the command being run are imported: the others are listed from
COMMANDS by name and help alone, so `colend --help` and `colend node status` never load web3, polars or matplotlib.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# (command, help, module that registers it, or the modules adding a group's subcommands); a module may
# register several commands.
COMMANDS: tuple[tuple[str, str, str | tuple[str, ...]], ...] = (
    ("contracts", "compile and inspect the Solidity contracts", "contracts.cli"),
    ("init", "create keys, a genesis document and a node config in a directory", "node.launch.cli"),
    ("node", "run or inspect a node", "node.launch.cli"),
    ("index", "follow a node and keep the clearing query index", "clearing.indexer.cli"),
    ("recon", "reconcile a bank's books with the chain", ("clearing.recon.cli", "clearing.policy.cli")),
    ("serve", "run the clearing service (API, dashboard, metrics) beside a node", "clearing.service.cli"),
    ("serve-key", "issue API keys for the clearing service", "clearing.service.cli"),
    ("consortium", "create, run and inspect a multi-process consortium", "colend.consortium.cli"),
    ("sim", "run the seeded QBFT fault simulator and print one JSON object", "network.cli"),
    ("demo", "four banks and a regulator: a day of joint lending, clearing, settlement and reconciliation", "colend.demo.run"),
)


def _chosen_command(argv: Sequence[str]) -> str | None:
    names = {name for name, _, _ in COMMANDS}
    for token in argv:
        if not token.startswith("-"):
            return token if token in names else None
    return None


def _add_group(subparsers: argparse._SubParsersAction, name: str, modules: tuple[str, ...]) -> None:
    """A command whose subcommands several modules add (`recon`: run and breaks from recon, limits from policy)."""
    help_text = next(h for n, h, _ in COMMANDS if n == name)
    group = subparsers.add_parser(name, help=help_text)
    commands = group.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")
    for module in modules:
        importlib.import_module(module).register(commands)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: full for the command it names, names and help only for every other command."""
    parser = argparse.ArgumentParser(prog="colend", description="Colend: consortium settlement for co-lending banks")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen_command(sys.argv[1:] if argv is None else argv)
    owner = next((o for name, _, o in COMMANDS if name == chosen), None)
    if isinstance(owner, tuple):
        _add_group(subparsers, str(chosen), owner)
    elif owner is not None:
        importlib.import_module(owner).register(subparsers)
    for name, help_text, other in COMMANDS:
        if other != owner:
            subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader went away (`colend sim | head`): stop quietly, and keep the interpreter from
        # complaining again while it flushes stdout on exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
