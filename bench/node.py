"""Single-node throughput over JSON-RPC, Colend against anvil on the same signed workload in the same run:
client-signed Clearing.postEntry txs until their receipts exist, clearing entries through the batch entry point
(Clearing.postEntries), and eth_call latency while the node is saturated with those writes. Prints one JSON
object; `ratio` is Colend's tx/s over anvil's.

Run: python -m bench.node [--txs 6000] [--rounds 3] [--no-anvil] [--tiny]
Each round starts a fresh Colend node (`colend init` + `colend node run`, LevelDB, QBFT) and then a fresh
anvil (bench/support/anvil.py; `npm ci` in tools/anvil/ installs the pinned build on first use), one after the other
so that they never share the cores. Signing and encoding happen before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.support import anvil
from bench.support.anvil_genesis import seed_genesis
from bench.support.discover import ROOT
from bench.support.machine import load_average
from bench.support.workload import Probe, Workload, build, check_receipts, run_phase
from colend.launcher import NodeLauncher
from colend.ports import free_loopback_port
from node.chain.genesis import Genesis
from node.rpc.client import JsonRpcClient

BANKS = ("WEBANK", "MYBANK", "XWBANK")
CHAIN_ID = 20_250


def init_node(root: Path, block_period_ms: int) -> tuple[int, dict]:
    port = free_loopback_port()
    out = subprocess.run([sys.executable, "-m", "colend", "init", "--dir", str(root), "--chain-id", str(CHAIN_ID),
                          "--banks", ",".join(BANKS), "--rpc-port", str(port), "--block-period-ms", str(block_period_ms)],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    return port, json.loads(out.stdout)


def measure(port: int, work: Workload, rpc_batch: int) -> dict[str, object]:
    """Both phases against one node at `port`; the probe runs through the single-tx phase."""
    probe = Probe(port, work.probe_call)
    probe.start()
    tx_s, tx_hashes = run_phase(port, work.single, rpc_batch)
    reads = probe.stop()
    tx_ok, tx_blocks = check_receipts(port, tx_hashes)
    entry_s, entry_hashes = run_phase(port, work.batched, rpc_batch)
    entry_ok, entry_blocks = check_receipts(port, entry_hashes, chunk=4)
    head = int(str(JsonRpcClient(port).call("eth_blockNumber")), 16)
    txs, entry_txs = len(tx_hashes), len(entry_hashes)
    return {"tx_per_s": round(txs / tx_s, 1), "tx_seconds": round(tx_s, 3), "tx_success": tx_ok,
            "tx_blocks": len(tx_blocks), "entry_tx_seconds": round(entry_s, 3), "entry_tx_success": entry_ok,
            "entry_blocks": len(entry_blocks), "eth_call_under_load": reads, "head": head, "entry_txs": entry_txs}


def run_colend(tmp: Path, args: argparse.Namespace) -> tuple[dict[str, object], Workload, Genesis]:
    port, info = init_node(tmp / "colend", args.block_period_ms)
    keys = {b: bytes.fromhex(Path(info["members"][b]["keyFile"]).read_text().strip()[2:]) for b in BANKS}
    genesis = Genesis.from_json(json.loads(Path(info["genesis"]).read_text()))
    work = build(keys, CHAIN_ID, genesis.contracts["Clearing"], genesis.contracts["Consortium"], args.txs,
                 args.entry_txs, args.entries_per_tx)
    node = NodeLauncher(tmp / "colend" / "node.toml", tmp / "colend" / "node.log")
    node.start()
    try:
        result = measure(port, work, args.rpc_batch)
    finally:
        node.stop()
    return result, work, genesis


def run_anvil(tmp: Path, work: Workload, genesis: Genesis, args: argparse.Namespace) -> dict[str, object]:
    """anvil set up like the Colend node (chain id, block period, gas limit, zero gas price, genesis state)."""
    node = anvil.Anvil(tmp / "anvil.log", chain_id=genesis.chain_id, block_time_s=args.block_period_ms / 1000,
                       gas_limit=genesis.block_gas_limit, zero_gas=True, accounts=0, hardfork="shanghai",
                       no_request_size_limit=True)
    node.start()
    try:
        seed_genesis(node.url, genesis)
        return measure(node.port, work, args.rpc_batch)
    finally:
        node.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.node", description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=6_000, help="single-entry txs (Clearing.postEntry), all senders")
    parser.add_argument("--entry-txs", type=int, default=160, help="batch txs (Clearing.postEntries)")
    parser.add_argument("--entries-per-tx", type=int, default=250)
    parser.add_argument("--rpc-batch", type=int, default=100, help="eth_sendRawTransaction calls per HTTP request")
    parser.add_argument("--block-period-ms", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="fresh Colend + anvil pairs; medians are reported")
    parser.add_argument("--no-anvil", action="store_true", help="measure Colend alone")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (anvil only if installed)")
    args = parser.parse_args(argv)
    anvil_note = None
    if args.tiny:
        args.txs, args.entry_txs, args.entries_per_tx, args.rounds = 60, 3, 10, 1
        if not args.no_anvil and not anvil.installed():
            args.no_anvil = True
            anvil_note = "skipped in tiny mode: anvil is not installed (npm ci in tools/anvil/ installs it)"
    elif not args.no_anvil and not anvil.installed():
        anvil.install()

    load_before = load_average()
    rounds = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="colend-bench-") as tmp:
            colend, work, genesis = run_colend(Path(tmp), args)
            round_ = {"colend": colend}
            if not args.no_anvil:
                round_["anvil"] = run_anvil(Path(tmp), work, genesis, args)
                round_["ratio"] = round(colend["tx_per_s"] / round_["anvil"]["tx_per_s"], 3)  # type: ignore[operator]
            rounds.append(round_)

    def median(target: str, key: str) -> float:
        return round(statistics.median(r[target][key] for r in rounds), 1)  # type: ignore[index]

    entries = args.entry_txs * args.entries_per_tx

    def entries_per_s(target: str) -> float:
        return round(entries / statistics.median(r[target]["entry_tx_seconds"] for r in rounds), 1)  # type: ignore[index]

    report: dict[str, object] = {
        "tx_per_s": median("colend", "tx_per_s"),
        "entries_per_s": entries_per_s("colend"),
        "eth_call_p99_ms_under_load": round(statistics.median(
            r["colend"]["eth_call_under_load"]["p99_ms"] for r in rounds), 2),  # type: ignore[index]
    }
    if args.no_anvil:
        report["anvil"] = anvil_note or "not run (--no-anvil)"
    else:
        report.update({
            "anvil_tx_per_s": median("anvil", "tx_per_s"),
            "ratio": round(statistics.median(r["ratio"] for r in rounds), 3),  # type: ignore[misc]
            "anvil_entries_per_s": entries_per_s("anvil"),
            "anvil_eth_call_p99_ms_under_load": round(statistics.median(
                r["anvil"]["eth_call_under_load"]["p99_ms"] for r in rounds), 2),  # type: ignore[index]
            "anvil_version": anvil.version(),
        })
    report["inputs"] = {
        "txs": args.txs, "tx_kind": "Clearing.postEntry (1 entry), EIP-1559, client-signed", "senders": len(BANKS),
        "rpc_batch": args.rpc_batch, "block_period_ms": args.block_period_ms, "entry_txs": args.entry_txs,
        "entries_per_tx": args.entries_per_tx, "rounds": args.rounds,
        "transport": "HTTP JSON-RPC batches, one keep-alive connection per sender",
        "read_probe": "eth_call Consortium.canWrite, one at a time on its own connection, during the postEntry phase",
    }
    report["rounds"] = rounds
    report["load_average"] = {"before": load_before, "after": load_average()}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
