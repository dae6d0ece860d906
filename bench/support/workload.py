"""bench.node's workload, the same signed bytes for every node under test: client-signed Clearing.postEntry and
Clearing.postEntries txs sent as JSON-RPC batches, one keep-alive connection per sender, timed until the last
receipt exists; meanwhile a reader process measures eth_call latency on its own connection."""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType

from contracts.ids import bank_id, text_id
from contracts.suite import suite_codecs
from node.rpc.client import JsonRpcClient
from node.tx.signing import sign_dynamic_fee

VALUE_DATE = 20261124
MAX_REQUEST_TX_BYTES = 500_000  # hex doubles it: stay well under the RPC body limit
RECEIPT_POLL_S = 0.01
GAS_PER_BATCHED_ENTRY = 45_000  # measured ~30k gas per batched entry, plus headroom


def entry(payer: str, payee: str, n: int) -> dict:
    return {"entryId": text_id(f"E-{payer}-{n}"), "payer": bank_id(payer), "payee": bank_id(payee), "amount": 100 + n,
            "kind": 2, "loanId": b"\0" * 32, "valueDate": VALUE_DATE, "ref": b"\0" * 32}


@dataclass
class Workload:
    """Signed raw txs per sender, in nonce order."""

    single: dict[str, list[bytes]]
    batched: dict[str, list[bytes]]
    probe_call: dict  # an eth_call object for the latency probe


def build(keys: dict[str, bytes], chain_id: int, clearing: bytes, consortium: bytes, txs: int, entry_txs: int,
          entries_per_tx: int) -> Workload:
    """Signing happens here, before any clock starts: the figures measure the node, not the client."""
    codecs = suite_codecs()
    codec = codecs["Clearing"]
    banks = list(keys)
    single: dict[str, list[bytes]] = {b: [] for b in banks}
    for i in range(txs):
        payer, payee = banks[i % len(banks)], banks[(i + 1) % len(banks)]
        data = codec.encode_call("postEntry", entry(payer, payee, i))
        single[payer].append(sign_dynamic_fee(keys[payer], chain_id, len(single[payer]), clearing, data, gas=400_000))
    batched: dict[str, list[bytes]] = {b: [] for b in banks}
    for j in range(entry_txs):
        payer, payee = banks[j % len(banks)], banks[(j + 1) % len(banks)]
        base = 10_000_000 + j * entries_per_tx
        data = codec.encode_call("postEntries", [entry(payer, payee, base + k) for k in range(entries_per_tx)])
        nonce = len(single[payer]) + len(batched[payer])
        batched[payer].append(sign_dynamic_fee(keys[payer], chain_id, nonce, clearing, data,
                                               gas=GAS_PER_BATCHED_ENTRY * entries_per_tx))
    probe = {"to": "0x" + consortium.hex(),
             "data": "0x" + codecs["Consortium"].encode_call("canWrite", "0x" + bytes(20).hex()).hex()}
    return Workload(single, batched, probe)


def _probe_loop(port: int, call: dict, stop: EventType, out: Connection) -> None:
    """In its own process, so the sending threads' GIL never delays a probe: the latencies are the node's."""
    client = JsonRpcClient(port)
    body = client.encode_batch([("eth_call", [call, "latest"])])
    latencies, errors = [], 0
    while True:
        began = time.perf_counter()
        reply = client.post(*body)[0]
        latencies.append((time.perf_counter() - began) * 1000)
        errors += "error" in reply
        if len(latencies) == 1:
            out.send("ready")
        if stop.wait(0.005):
            break
    client.close()
    out.send((latencies, errors))


class Probe:
    """eth_call round trips, one after another on a dedicated connection from a separate process."""

    def __init__(self, port: int, call: dict) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._results, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_probe_loop, args=(port, call, self._stop, sender), daemon=True)

    def start(self) -> None:
        """Returns once the reader has made its first call (an interpreter starts in a fraction of a second)."""
        self._process.start()
        assert self._results.recv() == "ready"

    def stop(self) -> dict[str, object]:
        self._stop.set()
        latencies, errors = self._results.recv()
        self._process.join()
        values = sorted(latencies)
        if not values:
            return {"calls": 0}
        return {"calls": len(values), "errors": errors, "p50_ms": round(percentile(values, 0.50), 2),
                "p99_ms": round(percentile(values, 0.99), 2), "max_ms": round(values[-1], 2)}


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def run_phase(port: int | Mapping[str, int | str], per_sender: dict[str, list[bytes]],
              batch: int) -> tuple[float, list[str]]:
    """Send every sender's txs (one connection each, batched JSON-RPC) and wait for the last receipts, each on the
    node the sender sent to (`port`: one node for all, or a node per sender, by port or by endpoint URL).

    Request bodies are encoded before the clock starts, like the signatures: the clock measures the node."""
    ports = port if isinstance(port, Mapping) else dict.fromkeys(per_sender, port)
    hashes: dict[str, list[str]] = {s: [] for s in per_sender}
    errors: list[object] = []
    requests: dict[str, tuple[JsonRpcClient, list[tuple[bytes, list[int]]]]] = {}
    for sender, raws in per_sender.items():
        client = JsonRpcClient(ports[sender])
        chunks: list[list[bytes]] = [[]]
        size = 0
        for raw in raws:  # at most `batch` txs and ~1 MB per HTTP request
            if chunks[-1] and (len(chunks[-1]) >= batch or size + len(raw) > MAX_REQUEST_TX_BYTES):
                chunks.append([])
                size = 0
            chunks[-1].append(raw)
            size += len(raw)
        requests[sender] = client, [client.encode_batch([("eth_sendRawTransaction", ["0x" + r.hex()]) for r in chunk])
                                    for chunk in chunks if chunk]

    def send(sender: str) -> None:
        client, bodies = requests[sender]
        for body, ids in bodies:
            for reply in client.post(body, ids):
                if "error" in reply:
                    errors.append(reply["error"])
                else:
                    hashes[sender].append(reply["result"])

    started = time.perf_counter()
    threads = [threading.Thread(target=send, args=(s,)) for s in per_sender if per_sender[s]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} txs refused, first: {errors[0]}")
    last: dict[int | str, list[str]] = {}  # nonce order: a sender's last receipt implies all its earlier ones
    for sender, hs in hashes.items():
        if hs:
            last.setdefault(ports[sender], []).append(hs[-1])
    for node_port, tx_hashes in last.items():
        client = JsonRpcClient(node_port)
        while not all(r.get("result") for r in client.batch([("eth_getTransactionReceipt", [h]) for h in tx_hashes])):
            time.sleep(RECEIPT_POLL_S)
        client.close()
    elapsed = time.perf_counter() - started
    for c, _ in requests.values():
        c.close()
    return elapsed, [h for hs in hashes.values() for h in hs]


def check_receipts(port: int, hashes: list[str], chunk: int = 500) -> tuple[int, set[str]]:
    """How many succeeded, and in which blocks."""
    client = JsonRpcClient(port)
    ok, blocks = 0, set()
    for i in range(0, len(hashes), chunk):
        for reply in client.batch([("eth_getTransactionReceipt", [h]) for h in hashes[i : i + chunk]]):
            if "error" in reply:
                raise RuntimeError(reply["error"])
            receipt = reply["result"]
            ok += receipt["status"] == "0x1"
            blocks.add(receipt["blockNumber"])
    client.close()
    return ok, blocks
