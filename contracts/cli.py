"""`colend contracts build|list|walkthrough|deploy`: compile the suite, show sizes, deploy it to a JSON-RPC node."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    dep = sub.add_parser("deploy", help="deploy the suite to an Ethereum JSON-RPC node (Besu, Quorum, anvil, ...)")
    dep.add_argument("--rpc", required=True, help="the node's JSON-RPC URL, e.g. http://127.0.0.1:8545")
    dep.add_argument("--key-file", required=True, type=Path, help="deployer key (0x-hex, mode 0600), funded or zero-gas")
    dep.add_argument("--members", required=True, type=Path, help="members.toml: the consortium's banks and observers")
    dep.add_argument("--validators", default="", help="comma-separated validator addresses Consortium records")
    dep.add_argument("--out", type=Path, default=Path("deployment.json"), help="deployment file (default: %(default)s)")
    dep.add_argument("--timeout-s", type=float, default=120, help="wait this long for each receipt")
    dep.set_defaults(func=_deploy)


def _walkthrough(args: argparse.Namespace) -> int:
    from contracts.walkthrough import run

    return run(args)


def _deploy(args: argparse.Namespace) -> int:
    from web3 import Web3  # deferred: only deploying talks to a node

    from contracts.deploy import deploy, fee_summary
    from contracts.key_file import load_account
    from contracts.members_file import load_members

    try:
        validators = tuple(v.strip() for v in args.validators.split(",") if v.strip())
        plan = load_members(args.members, validators)
        account = load_account(args.key_file)
        w3 = Web3(Web3.HTTPProvider(args.rpc, request_kwargs={"timeout": 30}))
        compiler.build()
        print(f"{args.rpc}: chain {w3.eth.chain_id}, deployer {account.address}, {fee_summary(w3)}", flush=True)
        result = deploy(w3, account, plan, args.out, timeout_s=args.timeout_s,
                        say=lambda line: print(line, flush=True))  # fmt: skip
    except ContractsError as err:
        print(f"colend contracts: error [{err.code}]: {err.message}", file=sys.stderr)
        return 2
    except OSError as err:  # the node went away between calls (requests' errors are OSErrors)
        print(f"colend contracts: error [contracts.node_unreachable]: cannot reach {args.rpc}: {err}", file=sys.stderr)
        return 2
    d = result.deployment
    if result.no_op:
        print(f"{args.out}: the suite is already deployed on chain {d.chain_id} and its code verified; nothing to do")
    else:
        print(f"members: {', '.join(f'{m.bank_id} ({m.role})' for m in plan.members)}")
        print(f"wrote {args.out} (chain {d.chain_id}, suite from block {d.block})")
    for name, contract in d.contracts.items():
        print(f"  {name:<11} {contract.address}  block {contract.block}")
    return 0


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
