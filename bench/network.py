"""A real consortium on this machine: 4 validator processes + 1 observer over mutual TLS, QBFT between them.
Prints one JSON object.

Run: python -m bench.network [--tiny]

- tx_per_s: client-signed single-entry txs (Clearing.postEntry), one sender per bank, each bank's txs sent to
  its own validator (so the load goes round-robin over all four), from the first send to the last receipt;
- entries_per_s: clearing entries through batch calls (Clearing.postEntries);
- finality latency p50/p99 at the peak rate and at half of it: txs offered at a steady rate, each tx's
  latency from its send to the first poll that finds its block final on the validator it was sent to;
- single_node_tx_per_s: the same single-entry workload on one lone validator, in the same run.

Signatures and request bodies are made before the clock starts. Five node processes share the machine's
cores with the client, so every figure is against that ceiling; `note` says where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bench.support.discover import ROOT
from bench.support.workload import run_phase
from colend.consortium.layout import Manifest, read_manifest
from colend.consortium.operate import start_all, stop_all
from colend.launcher import NodeLauncher
from contracts.ids import bank_id, text_id
from contracts.suite import suite_codecs
from node.keyfiles import read_key
from node.rpc.client import JsonRpcClient
from node.tx.signing import sign_dynamic_fee

BANKS = ("WEBANK", "MYBANK", "XWBANK", "HRBANK")
CHAIN_ID = 20_250
VALUE_DATE = 20261124
RPC_BATCH = 100
POLL_S = 0.02


def entry(payer: str, payee: str, n: int) -> dict:
    return {"entryId": text_id(f"E-{payer}-{n}"), "payer": bank_id(payer), "payee": bank_id(payee), "amount": 100 + n,
            "kind": 2, "loanId": b"\0" * 32, "valueDate": VALUE_DATE, "ref": b"\0" * 32}


class Workload:
    """Pre-signed txs per bank, nonces continuing across phases; entries round-robin over `pairs` (payer, payee),
    by default each bank paying the next."""

    def __init__(self, keys: dict[str, bytes], clearing: bytes, chain_id: int = CHAIN_ID,
                 pairs: Sequence[tuple[str, str]] = ()) -> None:
        self.keys = keys
        self.clearing = clearing
        self.chain_id = chain_id
        banks = list(keys)
        self.pairs = tuple(pairs) or tuple((b, banks[(i + 1) % len(banks)]) for i, b in enumerate(banks))
        self.codec = suite_codecs()["Clearing"]
        self.nonces = dict.fromkeys(keys, 0)
        self.serial = 0

    def singles(self, count: int) -> dict[str, list[bytes]]:
        out: dict[str, list[bytes]] = {b: [] for b in self.keys}
        for i in range(count):
            payer, payee = self.pairs[i % len(self.pairs)]
            self.serial += 1
            data = self.codec.encode_call("postEntry", entry(payer, payee, self.serial))
            out[payer].append(self._sign(payer, data, 400_000))
        return out

    def batches(self, count: int, per_tx: int) -> dict[str, list[bytes]]:
        out: dict[str, list[bytes]] = {b: [] for b in self.keys}
        for j in range(count):
            payer, payee = self.pairs[j % len(self.pairs)]
            entries = []
            for _ in range(per_tx):
                self.serial += 1
                entries.append(entry(payer, payee, self.serial))
            out[payer].append(self._sign(payer, self.codec.encode_call("postEntries", entries), 45_000 * per_tx))
        return out

    def _sign(self, payer: str, data: bytes, gas: int) -> bytes:
        raw = sign_dynamic_fee(self.keys[payer], self.chain_id, self.nonces[payer], self.clearing, data, gas=gas)
        self.nonces[payer] += 1
        return raw


def saturate(ports: dict[str, int], per_sender: dict[str, list[bytes]], batch: int = RPC_BATCH) -> float:
    """Every sender's txs as fast as its validator takes them; seconds until the last receipt of each."""
    return run_phase(ports, per_sender, batch)[0]


def offered_latency(ports: dict[str, int], per_sender: dict[str, list[bytes]], rate: float) -> list[float]:
    """Txs offered at `rate` tx/s in total (ticks of 50 ms); each one's seconds from send to its block being
    final on the validator it went to, as a block poller on that validator sees it."""
    tick = 0.05
    sent_at: dict[str, float] = {}
    final_at: dict[str, float] = {}
    done = threading.Event()

    def send(bank: str) -> None:
        rpc = JsonRpcClient(ports[bank])
        raws = per_sender[bank]
        share = rate / len(per_sender) * tick
        owed, i, next_tick = 0.0, 0, time.perf_counter()
        while i < len(raws):
            owed += share
            count = int(owed)
            owed -= count
            if count:
                chunk = raws[i:i + count]
                i += count
                now = time.perf_counter()
                for reply in rpc.post(*rpc.encode_batch([("eth_sendRawTransaction", ["0x" + r.hex()]) for r in chunk])):
                    if "error" in reply:
                        raise RuntimeError(reply["error"])
                    sent_at[reply["result"]] = now
            next_tick += tick
            time.sleep(max(0.0, next_tick - time.perf_counter()))

    def watch(port: int) -> None:
        rpc = JsonRpcClient(port)
        seen = int(str(rpc.call("eth_blockNumber")), 16)
        while not done.is_set():
            head = int(str(rpc.call("eth_blockNumber")), 16)
            now = time.perf_counter()
            for number in range(seen + 1, head + 1):
                block = rpc.call("eth_getBlockByNumber", hex(number), False)
                for tx_hash in block["transactions"]:  # type: ignore[index]
                    final_at.setdefault(tx_hash, now)
            seen = head
            time.sleep(POLL_S)

    watchers = [threading.Thread(target=watch, args=(ports[b],), daemon=True) for b in per_sender]
    for w in watchers:
        w.start()
    senders = [threading.Thread(target=send, args=(b,)) for b in per_sender]
    for s in senders:
        s.start()
    for s in senders:
        s.join()
    deadline = time.perf_counter() + 120
    while not sent_at.keys() <= final_at.keys() and time.perf_counter() < deadline:
        time.sleep(POLL_S)
    done.set()
    return sorted(final_at[h] - t for h, t in sent_at.items() if h in final_at)


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def init_consortium(root: Path, block_period_ms: int, *more: str) -> Manifest:
    """The four banks and the regulator on free loopback ports, by `colend consortium init` (`more`: its options,
    e.g. --groups)."""
    subprocess.run([sys.executable, "-m", "colend", "consortium", "init", "--banks", ",".join(BANKS), "--observers",
                    "REGULATOR", "--out", str(root), "--base-port", "0", "--chain-id", str(CHAIN_ID),
                    "--block-period-ms", str(block_period_ms), *more], cwd=ROOT, check=True, capture_output=True)
    return read_manifest(root)


def run_consortium(tmp: Path, sizes: argparse.Namespace) -> dict[str, object]:
    root = tmp / "consortium"
    manifest = init_consortium(root, sizes.block_period_ms)
    ports = {e.member: e.rpc_port for e in manifest.nodes if e.role == "validator"}
    keys = {b: read_key(root / b / "keys" / "account.key") for b in BANKS}
    clearing = bytes.fromhex(json.loads((root / "genesis.json").read_text())["contracts"]["Clearing"][2:])
    work = Workload(keys, clearing)
    launchers = start_all(root, manifest, echo=False)
    try:
        singles = work.singles(sizes.txs)
        tx_s = saturate(ports, singles)
        peak = sizes.txs / tx_s
        batches = work.batches(sizes.entry_txs, sizes.entries_per_tx)
        entry_s = saturate(ports, batches, batch=4)
        at_peak = offered_latency(ports, work.singles(sizes.latency_txs), peak)
        at_half = offered_latency(ports, work.singles(sizes.latency_txs // 2), peak / 2)
        observer = next(e for e in manifest.nodes if e.role == "observer")
        heads = {e.name: int(str(JsonRpcClient(e.rpc_port).call("eth_blockNumber")), 16) for e in manifest.nodes}
        observer_head = heads[observer.name]
    finally:
        stop_all(launchers)
    return {
        "tx_per_s": round(peak, 1),
        "entries_per_s": round(sizes.entry_txs * sizes.entries_per_tx / entry_s, 1),
        "finality_p50_s_at_peak": round(percentile(at_peak, 0.5), 3),
        "finality_p99_s_at_peak": round(percentile(at_peak, 0.99), 3),
        "finality_p50_s_at_half_peak": round(percentile(at_half, 0.5), 3),
        "finality_p99_s_at_half_peak": round(percentile(at_half, 0.99), 3),
        "latency_samples": [len(at_peak), len(at_half)],
        "heads": heads, "observer_head": observer_head,
    }


def run_single_node(tmp: Path, sizes: argparse.Namespace) -> float:
    root = tmp / "single"
    out = subprocess.run([sys.executable, "-m", "colend", "init", "--dir", str(root), "--chain-id", str(CHAIN_ID),
                          "--banks", ",".join(BANKS), "--rpc-port", "0", "--block-period-ms",
                          str(sizes.block_period_ms)], cwd=ROOT, check=True, capture_output=True, text=True)
    info = json.loads(out.stdout)
    keys = {b: read_key(Path(info["members"][b]["keyFile"])) for b in BANKS}
    work = Workload(keys, bytes.fromhex(info["contracts"]["Clearing"][2:]))
    launcher = NodeLauncher(root / "node.toml", root / "node.log")
    port = int(launcher.start().rsplit(":", 1)[1])
    try:
        singles = work.singles(sizes.txs)
        return sizes.txs / saturate(dict.fromkeys(BANKS, port), singles)
    finally:
        launcher.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.network", description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run")
    parser.add_argument("--txs", type=int, default=6_000)
    parser.add_argument("--entry-txs", type=int, default=80)
    parser.add_argument("--entries-per-tx", type=int, default=250)
    parser.add_argument("--latency-txs", type=int, default=3_000)
    parser.add_argument("--block-period-ms", type=int, default=100)
    sizes = parser.parse_args(argv)
    if sizes.tiny:
        sizes.txs, sizes.entry_txs, sizes.entries_per_tx, sizes.latency_txs = 200, 8, 50, 200
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="colend-bench-net-") as tmp:
        consortium = run_consortium(Path(tmp), sizes)
        single = run_single_node(Path(tmp), sizes)
    print(json.dumps({
        **consortium,
        "single_node_tx_per_s": round(single, 1),
        "consortium_over_single": round(consortium["tx_per_s"] / single, 2),  # type: ignore[operator]
        "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "inputs": {"validators": 4, "observers": 1, "tx_kind": "Clearing.postEntry (1 entry), client-signed",
                   "txs": sizes.txs, "entry_txs": sizes.entry_txs, "entries_per_tx": sizes.entries_per_tx,
                   "latency_txs": sizes.latency_txs, "block_period_ms": sizes.block_period_ms, "rpc_batch": RPC_BATCH,
                   "cores": os.cpu_count(), "tiny": sizes.tiny},
        "note": ("five node processes and the client share the cores, so the consortium's ceiling is about a "
                 "fifth of one node's: every validator admits every gossiped tx (signature recovery, pool) and "
                 "executes every block (pyrevm, the proposer once, the others on validation), and the observer "
                 "re-executes everything; a py-spy profile of a loaded validator puts ~50% of its consensus "
                 "thread in block execution and ~45% of its event loop in admitting gossiped txs, TLS and "
                 "WebSocket framing a few %. Other processes on the machine (load_average_1m) take the rest"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
