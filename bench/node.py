"""Single-node throughput over JSON-RPC: client-signed txs until their receipts exist, and clearing entries
through the batch entry point (Clearing.postEntries). Prints one JSON object.

Run: .venv/bin/python bench/node.py [--txs 6000] [--entry-txs 160 --entries-per-tx 250]
Starts a fresh node (`colend init` + `colend node run`) in a temp dir as a subprocess; signing and encoding
the request bodies happen before the clock starts, so the figures measure the node (RPC, admission,
execution, commit), not the client.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts.ids import bank_id, text_id  # noqa: E402
from contracts.suite import suite_codecs  # noqa: E402
from node.tx.signing import sign_dynamic_fee  # noqa: E402

BANKS = ("WEBANK", "MYBANK", "XWBANK")
CHAIN_ID = 20_250
VALUE_DATE = 20261124
MAX_REQUEST_TX_BYTES = 500_000  # hex doubles it: stay well under the RPC body limit


class Rpc:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.next_id = 0

    def encode_batch(self, calls: list[tuple[str, list]]) -> tuple[bytes, list[int]]:
        """One HTTP body for a JSON-RPC batch, and its request ids in order."""
        body = []
        for method, params in calls:
            self.next_id += 1
            body.append({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return json.dumps(body).encode(), [b["id"] for b in body]

    def post(self, body: bytes, ids: list[int]) -> list[dict]:
        self.conn.request("POST", "/", body, {"Content-Type": "application/json"})
        reply = json.loads(self.conn.getresponse().read())
        if not isinstance(reply, list):
            raise RuntimeError(f"batch refused: {reply}")
        replies = {r["id"]: r for r in reply}
        return [replies[i] for i in ids]

    def batch(self, calls: list[tuple[str, list]]) -> list[dict]:
        return self.post(*self.encode_batch(calls))

    def call(self, method: str, *params: object) -> object:
        reply = self.batch([(method, list(params))])[0]
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(root: Path, block_period_ms: int) -> tuple[subprocess.Popen, int, dict]:
    port = free_port()
    out = subprocess.run([sys.executable, "-m", "colend", "init", "--dir", str(root), "--chain-id", str(CHAIN_ID),
                          "--banks", ",".join(BANKS), "--rpc-port", str(port), "--block-period-ms", str(block_period_ms)],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    info = json.loads(out.stdout)
    log = open(root / "node.log", "w")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen([sys.executable, "-m", "colend", "node", "run", "--config", str(root / "node.toml"),
                             "--log-level", "WARNING"], cwd=ROOT, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while True:
        try:
            Rpc(port).call("eth_blockNumber")
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"node did not start, see {root / 'node.log'}") from None
            time.sleep(0.05)
    return proc, port, info


def entry(payer: str, payee: str, n: int) -> dict:
    return {"entryId": text_id(f"E-{payer}-{n}"), "payer": bank_id(payer), "payee": bank_id(payee), "amount": 100 + n,
            "kind": 2, "loanId": b"\0" * 32, "valueDate": VALUE_DATE, "ref": b"\0" * 32}


def run_phase(port: int, per_sender: dict[str, list[bytes]], batch: int) -> tuple[float, list[str]]:
    """Send every sender's txs (one connection each, batched JSON-RPC) and wait for the last receipts.

    Request bodies are encoded before the clock starts, like the signatures: the clock measures the node."""
    hashes: dict[str, list[str]] = {s: [] for s in per_sender}
    errors: list[object] = []
    requests: dict[str, tuple[Rpc, list[tuple[bytes, list[int]]]]] = {}
    for sender, raws in per_sender.items():
        rpc = Rpc(port)
        chunks: list[list[bytes]] = [[]]
        size = 0
        for raw in raws:  # at most `batch` txs and ~1 MB per HTTP request
            if len(chunks[-1]) >= batch or size + len(raw) > MAX_REQUEST_TX_BYTES:
                chunks.append([])
                size = 0
            chunks[-1].append(raw)
            size += len(raw)
        requests[sender] = rpc, [rpc.encode_batch([("eth_sendRawTransaction", ["0x" + r.hex()]) for r in chunk])
                                 for chunk in chunks]

    def send(sender: str) -> None:
        rpc, bodies = requests[sender]
        for body, ids in bodies:
            for reply in rpc.post(body, ids):
                if "error" in reply:
                    errors.append(reply["error"])
                else:
                    hashes[sender].append(reply["result"])

    started = time.perf_counter()
    threads = [threading.Thread(target=send, args=(s,)) for s in per_sender]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} txs refused, first: {errors[0]}")
    rpc = Rpc(port)
    last = [hs[-1] for hs in hashes.values()]  # nonce order: the last receipt implies all earlier ones
    while True:
        replies = rpc.batch([("eth_getTransactionReceipt", [h]) for h in last])
        if all(r.get("result") for r in replies):
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    return elapsed, [h for hs in hashes.values() for h in hs]


def check_receipts(port: int, hashes: list[str], chunk: int = 500) -> tuple[int, set[str]]:
    rpc = Rpc(port)
    ok, blocks = 0, set()
    for i in range(0, len(hashes), chunk):
        for reply in rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes[i : i + chunk]]):
            if "error" in reply:
                raise RuntimeError(reply["error"])
            receipt = reply["result"]
            ok += receipt["status"] == "0x1"
            blocks.add(receipt["blockNumber"])
    return ok, blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--txs", type=int, default=6_000, help="single-entry txs (Clearing.postEntry), all senders")
    parser.add_argument("--entry-txs", type=int, default=160, help="batch txs (Clearing.postEntries)")
    parser.add_argument("--entries-per-tx", type=int, default=250)
    parser.add_argument("--rpc-batch", type=int, default=100, help="eth_sendRawTransaction calls per HTTP request")
    parser.add_argument("--block-period-ms", type=int, default=200)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="colend-bench-"))
    proc, port, info = start_node(tmp / "node", args.block_period_ms)
    try:
        keys = {b: bytes.fromhex((tmp / "node" / "keys" / f"{b.lower()}.key").read_text().strip()[2:]) for b in BANKS}
        clearing = bytes.fromhex(info["contracts"]["Clearing"][2:])
        codec = suite_codecs()["Clearing"]

        per_sender: dict[str, list[bytes]] = {b: [] for b in BANKS}
        for i in range(args.txs):
            payer = BANKS[i % len(BANKS)]
            payee = BANKS[(i + 1) % len(BANKS)]
            nonce = len(per_sender[payer])
            data = codec.encode_call("postEntry", entry(payer, payee, i))
            per_sender[payer].append(sign_dynamic_fee(keys[payer], CHAIN_ID, nonce, clearing, data, gas=400_000))
        tx_elapsed, tx_hashes = run_phase(port, per_sender, args.rpc_batch)
        tx_ok, tx_blocks = check_receipts(port, tx_hashes)

        batches: dict[str, list[bytes]] = {b: [] for b in BANKS}
        nonces = {b: len(per_sender[b]) for b in BANKS}
        for j in range(args.entry_txs):
            payer = BANKS[j % len(BANKS)]
            payee = BANKS[(j + 1) % len(BANKS)]
            base = 10_000_000 + j * args.entries_per_tx
            data = codec.encode_call("postEntries", [entry(payer, payee, base + k) for k in range(args.entries_per_tx)])
            gas = 45_000 * args.entries_per_tx  # measured ~30k gas per batched entry, plus headroom
            batches[payer].append(sign_dynamic_fee(keys[payer], CHAIN_ID, nonces[payer], clearing, data, gas=gas))
            nonces[payer] += 1
        entry_elapsed, entry_hashes = run_phase(port, batches, args.rpc_batch)
        entry_ok, entry_blocks = check_receipts(port, entry_hashes, chunk=4)
        status = Rpc(port).call("colend_status")
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)

    print(json.dumps({
        "tx_per_s": round(args.txs / tx_elapsed, 1),
        "entries_per_s": round(args.entry_txs * args.entries_per_tx / entry_elapsed, 1),
        "inputs": {
            "txs": args.txs, "tx_kind": "Clearing.postEntry (1 entry), EIP-1559, client-signed",
            "senders": len(BANKS), "rpc_batch": args.rpc_batch, "block_period_ms": args.block_period_ms,
            "entry_txs": args.entry_txs, "entries_per_tx": args.entries_per_tx,
            "transport": "HTTP JSON-RPC batches, one keep-alive connection per sender",
        },
        "results": {
            "tx_seconds": round(tx_elapsed, 3), "tx_success": tx_ok, "tx_blocks": len(tx_blocks),
            "entry_seconds": round(entry_elapsed, 3), "entry_tx_success": entry_ok, "entry_blocks": len(entry_blocks),
            "head": int(status["head"]["number"], 16),
        },
    }))


if __name__ == "__main__":
    main()
