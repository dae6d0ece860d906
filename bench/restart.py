"""Restart-to-serving benchmark: how long a node holding many clearing entries takes from `colend node run`
to answering JSON-RPC again. Prints one JSON object.

It fills a fresh node with `--entries` entries through the batch entry point (Clearing.postEntries, client-
signed, over JSON-RPC), stops it cleanly, then starts it again and times two moments: the node's own
`event=node_started` line (store opened, state restored, consensus and RPC up) and the first eth_call answered
from the restored state. A second restart after kill -9 is timed the same way. The target is <= 10 s at 1M.

Run: python -m bench.restart [--entries 1000000] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.node import BANKS, CHAIN_ID, init_node
from bench.support.machine import load_average
from bench.support.workload import build, run_phase
from colend.launcher import NodeLauncher
from node.chain.genesis import Genesis
from node.rpc.client import JsonRpcClient

ENTRIES_PER_TX = 250


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def time_restart(launcher: NodeLauncher, port: int, probe: dict) -> dict[str, float]:
    """Seconds to the node's started line and to the first eth_call answered, from the spawn."""
    began = time.perf_counter()
    launcher.start()
    started_s = time.perf_counter() - began
    client = JsonRpcClient(port)
    reply = client.call("eth_call", probe, "latest")
    serving_s = time.perf_counter() - began
    client.close()
    assert isinstance(reply, str) and reply.startswith("0x"), reply
    return {"started_s": round(started_s, 2), "serving_s": round(serving_s, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="clearing entries the node holds")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (2,500 entries)")
    parser.add_argument("--keep", type=Path, help="build the node in this new directory and keep it (to profile)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.entries = 2_500
    entry_txs = max(1, args.entries // ENTRIES_PER_TX)
    with tempfile.TemporaryDirectory(prefix="colend-bench-") as tmp:
        root = args.keep or Path(tmp) / "node"
        port, info = init_node(root, 200)
        keys = {b: bytes.fromhex(Path(info["members"][b]["keyFile"]).read_text().strip()[2:]) for b in BANKS}
        genesis = Genesis.from_json(json.loads(Path(info["genesis"]).read_text()))
        work = build(keys, CHAIN_ID, genesis.contracts["Clearing"], genesis.contracts["Consortium"], 0, entry_txs,
                     ENTRIES_PER_TX)
        launcher = NodeLauncher(root / "node.toml", root / "node.log", start_timeout_s=600)
        launcher.start()
        try:
            fill_s, hashes = run_phase(port, work.batched, 20)
            head = int(str(JsonRpcClient(port).call("eth_blockNumber")), 16)
        finally:
            launcher.stop()
        store_bytes = directory_bytes(root)
        clean = time_restart(launcher, port, work.probe_call)
        launcher.kill9()
        after_kill = time_restart(launcher, port, work.probe_call)
        height_after = int(str(JsonRpcClient(port).call("eth_blockNumber")), 16)
        launcher.stop()
    assert height_after >= head, (head, height_after)
    result = {
        "entries": entry_txs * ENTRIES_PER_TX, "entry_txs": len(hashes), "blocks": head,
        "fill_s": round(fill_s, 1), "entries_per_s_fill": round(entry_txs * ENTRIES_PER_TX / fill_s),
        "store_mb": round(store_bytes / 1e6, 1), "restart": clean, "restart_after_kill_9": after_kill,
        "target_serving_s": 10.0, "load_average": load_average(), "tiny": args.tiny,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
