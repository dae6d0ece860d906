"""kill -9 before any block: every tx eth_sendRawTransaction acknowledged is pending again after restart, and is
included once blocks are produced (the pool journal, node/txpool/journal.py)."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest

from node.config import load_config
from node.rpc.client import JsonRpcClient
from node.tx.signing import sign_dynamic_fee
from tests.e2e.node_process import NodeProcess

pytestmark = pytest.mark.e2e
CHAIN_ID = 777
NO_BLOCKS_MS = 3_600_000  # a block period no test outlives: txs stay in the pool
REPLAYED = re.compile(r"event=pool_journal_replayed entries=(\d+) restored=(\d+) dropped=(\d+)")
TO = b"\x22" * 20


def send_all(node: NodeProcess, rpc: JsonRpcClient) -> list[str]:
    """Batches and single calls from both banks; the hashes the node acknowledged, in order."""
    keys = [node.key("WEBANK"), node.key("MYBANK")]
    nonces = [0, 0]
    acked: list[str] = []

    def raw(i: int) -> str:
        nonces[i] += 1
        return "0x" + sign_dynamic_fee(keys[i], CHAIN_ID, nonces[i] - 1, TO, b"", gas=100_000).hex()

    for _ in range(3):
        replies = rpc.batch([("eth_sendRawTransaction", [raw(i % 2)]) for i in range(40)])
        acked.extend(r["result"] for r in replies)
    for i in range(10):
        acked.append(str(rpc.call("eth_sendRawTransaction", raw(i % 2))))
    return acked


def configure(node: NodeProcess, **changes: object) -> None:
    config = load_config(node.root / "node.toml")
    dataclasses.replace(config, **changes).write(node.root / "node.toml")  # type: ignore[arg-type]


def replayed(node: NodeProcess) -> tuple[int, int, int]:
    for line in node.startup_lines:
        if found := REPLAYED.search(line):
            return int(found[1]), int(found[2]), int(found[3])
    raise AssertionError("no event=pool_journal_replayed before event=node_started")


def test_acknowledged_txs_survive_kill_9_before_any_block(tmp_path):
    node = NodeProcess(tmp_path / "node", block_period_ms=NO_BLOCKS_MS)  # with its worker processes, the default
    node.start()
    rpc = JsonRpcClient(node.port)
    acked = send_all(node, rpc)
    assert len(set(acked)) == 130 and rpc.call("eth_blockNumber") == "0x0"
    rpc.close()
    node.kill9()  # right after the last acknowledgement

    node.start()
    assert replayed(node) == (130, 130, 0)
    rpc = JsonRpcClient(node.port)
    pending = rpc.batch([("eth_getTransactionByHash", [h]) for h in acked])
    assert all(p["result"] is not None and p["result"]["blockHash"] is None for p in pending)
    rpc.close()
    node.kill9()  # a second crash: the replayed journal is still whole

    configure(node, block_period_ms=50)
    node.start()
    rpc = JsonRpcClient(node.port)
    deadline = time.monotonic() + 15
    while True:
        receipts = rpc.batch([("eth_getTransactionReceipt", [h]) for h in acked])
        if all(r["result"] is not None for r in receipts) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert all(r["result"] is not None and r["result"]["status"] == "0x1" for r in receipts)
    rpc.close()
    assert node.stop() == 0
    node.start()
    assert replayed(node) == (0, 0, 0)  # included txs left the journal with their blocks
    assert node.stop() == 0
