"""`colend contracts build|list`: compile the suite (reusing artifacts when nothing changed) and show sizes."""

from __future__ import annotations

import argparse
import sys

from contracts import compiler
from contracts.errors import ContractsError

EIP170_LIMIT = 24_576


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("contracts", help="compile and inspect the Solidity contracts")
    sub = parser.add_subparsers(dest="contracts_command", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="compile the contracts (reuses artifacts when sources are unchanged)")
    build.add_argument("--force", action="store_true", help="recompile even if the artifacts are current")
    build.set_defaults(func=_build)
    listing = sub.add_parser("list", help="list the compiled contracts with their sizes")
    listing.set_defaults(func=lambda args: _build(argparse.Namespace(force=False)))
    walk = sub.add_parser("walkthrough", help="one joint loan to settlement, on the contracts in an in-process EVM")
    walk.set_defaults(func=_walkthrough)


def _walkthrough(args: argparse.Namespace) -> int:
    from contracts.walkthrough import run

    return run(args)


def _build(args: argparse.Namespace) -> int:
    try:
        result = compiler.build(force=args.force)
    except ContractsError as err:
        print(f"colend contracts: error [{err.code}]: {err.message}", file=sys.stderr)
        return 2
    state = "compiled" if result.compiled else "up to date, reused artifacts"
    print(f"{len(result.contracts)} contracts in {result.build_dir} ({state})")
    print(f"{'contract':<14} {'runtime bytes':>14} {'initcode bytes':>15} {'of EIP-170':>11}")
    for name, artifact in sorted(result.contracts.items()):
        runtime = (len(artifact["deployedBytecode"]) - 2) // 2
        initcode = (len(artifact["bytecode"]) - 2) // 2
        print(f"{name:<14} {runtime:>14,} {initcode:>15,} {runtime / EIP170_LIMIT:>10.0%}")
    return 0
