"""`colend init` (keys, genesis, node config) and `colend node run|status`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from node.config import load_config
from node.rpc.client import JsonRpcClient, RemoteError

DEFAULT_CHAIN_ID = 20_250
DEFAULT_BANKS = "WEBANK,MYBANK,XWBANK"
GC_THRESHOLDS = (50_000, 20, 100)
SWITCH_INTERVAL_S = 0.0002  # bench.node, 30k txs: 1 ms 3,200 tx/s, 0.2 ms 4,000, 0.05 ms 3,400


def register(subparsers: argparse._SubParsersAction) -> None:
    init = subparsers.add_parser("init", help="create keys, a genesis document and a node config in a directory")
    init.add_argument("--dir", required=True, type=Path, help="node directory to create")
    init.add_argument("--chain-id", type=int, default=DEFAULT_CHAIN_ID)
    init.add_argument("--banks", default=DEFAULT_BANKS, help="comma-separated bank ids (role BANK)")
    init.add_argument("--observers", default="", help="comma-separated observer ids (role OBSERVER), e.g. REGULATOR")
    init.add_argument("--rpc-host", default="127.0.0.1")
    init.add_argument("--rpc-port", type=int, default=8545)
    init.add_argument("--block-period-ms", type=int, default=200)
    init.set_defaults(func=cmd_init)

    node = subparsers.add_parser("node", help="run or inspect a node")
    sub = node.add_subparsers(dest="node_command", required=True, metavar="ACTION")
    run = sub.add_parser("run", help="start the node and its JSON-RPC server")
    run.add_argument("--config", required=True, type=Path)
    run.add_argument("--log-level", default="INFO")
    run.set_defaults(func=cmd_run)
    status = sub.add_parser("status", help="print a running node's colend_status")
    where = status.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", type=Path, help="read the RPC address from this node config")
    where.add_argument("--rpc", help="RPC URL, e.g. http://127.0.0.1:8545")
    status.set_defaults(func=cmd_status)


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def cmd_init(args: argparse.Namespace) -> int:
    # Deferred, like every heavy import of a command: `colend --help` and `node status` must start at once.
    from eth_utils import to_checksum_address

    from network.qbft import PrivateKeySigner
    from node.config import NodeConfig
    from node.engine.genesis_build import new_genesis, new_member
    from node.keyfiles import new_private_key, write_key

    root: Path = args.dir
    if (root / "genesis.json").exists() or (root / "node.toml").exists():
        print(f"error: {root} already holds a node (genesis.json / node.toml)", file=sys.stderr)
        return 1
    root.mkdir(parents=True, exist_ok=True)
    validator_key = new_private_key()
    write_key(root / "keys" / "validator.key", validator_key)
    members = [new_member(bank, role, root / "keys" / f"{bank.lower()}.key")
               for ids, role in ((_ids(args.banks), "BANK"), (_ids(args.observers), "OBSERVER")) for bank in ids]
    genesis = new_genesis(args.chain_id, (PrivateKeySigner(validator_key).address,), tuple(members))
    (root / "genesis.json").write_text(json.dumps(genesis.to_json(), indent=2) + "\n")
    config = NodeConfig(rpc_host=args.rpc_host, rpc_port=args.rpc_port, block_period_ms=args.block_period_ms)
    config.write(root / "node.toml")
    print(json.dumps({
        "dir": str(root), "config": str(root / "node.toml"), "genesis": str(root / "genesis.json"),
        "chainId": genesis.chain_id, "validator": to_checksum_address(genesis.validators[0]),
        "members": {m.bank_id: {"role": m.role, "account": to_checksum_address(m.accounts[0]),
                                "keyFile": str(root / "keys" / f"{m.bank_id.lower()}.key")} for m in members},
        "contracts": {k: to_checksum_address(v) for k, v in sorted(genesis.contracts.items())},
    }, indent=2))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio
    import gc
    import importlib.util
    import logging
    import os

    # eth-hash prefers pycryptodome, whose per-call overhead made keccak a tenth of the node's time (tx and
    # signing hashes, blooms, tries); safe-pysha3's C keccak is three times faster. Chosen before the first hash.
    if importlib.util.find_spec("sha3") is not None:
        os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
    # The RPC workers, the loop and the consensus thread share the GIL: with CPython's default 5 ms switch
    # interval an eth_call could queue for several slices behind block execution (bench.node: p50 17 -> 4 ms),
    # and every hand-off inside a batch (recovered senders arriving, the reply going to the loop) waits one.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    # Blocks allocate receipts, logs and tuples by the thousand, nearly all freed by reference counting; with
    # the default thresholds the cyclic collector still ran ~600 times in a 30k-tx bench.node run (357 ms of
    # GIL in all, full collections of up to 39 ms, each one an eth_call stall). Collecting every 50k net
    # allocations: 2 runs, 26 ms in all.
    gc.set_threshold(*GC_THRESHOLDS)
    from contracts.errors import KeyFileInvalid
    from node.errors import NodeError
    from node.launch.sequence import run_node
    from node.log_group import log_to_stderr

    log_to_stderr(args.log_level)
    try:
        return asyncio.run(run_node(load_config(args.config), Path(args.config)))
    except (NodeError, KeyFileInvalid) as exc:  # refused to start (RPC exposed without auth, a key others can
        # read): one clear line, no traceback
        logging.getLogger("colend.node").critical("event=node_refused_to_start code=%s reason=%s", exc.code, exc.message)
        return 2


def cmd_status(args: argparse.Namespace) -> int:
    if args.rpc:
        url = args.rpc
    else:
        config = load_config(args.config)
        host = "127.0.0.1" if config.rpc_host in ("0.0.0.0", "::") else config.rpc_host
        url = f"http://{host}:{config.rpc_port}"
    client = JsonRpcClient(url, timeout_s=5)
    try:
        status = client.call("colend_status")
    except RemoteError as exc:
        print(json.dumps(exc.data, indent=2), file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"error: cannot reach {url}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(json.dumps(status, indent=2))
    return 0
