"""kill -9 under load: every tx whose receipt the node returned survives, and the head and state commitment
the node acknowledged are still there after restart (DESIGN.md, "Invariants worth a test each")."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from node.execution.executor import create_address
from node.rpc.client import JsonRpcClient
from node.tx.signing import sign_dynamic_fee
from tests.e2e.node_process import ROOT, NodeProcess
from tests.node.store_contract import STORE_BYTECODE, call_data

pytestmark = pytest.mark.e2e
CHAIN_ID = 777
BANKS = ("WEBANK", "MYBANK")



class Client:
    """Sends batches of signed txs from two banks and remembers what the node acknowledged."""

    def __init__(self, node: NodeProcess) -> None:
        self.node = node
        self.keys = {bank: node.key(bank) for bank in BANKS}
        self.addresses = {bank: bytes.fromhex(node.info["members"][bank]["account"][2:]) for bank in BANKS}
        self.acked_txs: dict[str, tuple[str, str]] = {}  # tx hash -> (block number, block hash)
        self.acked_blocks: dict[int, tuple[str, str]] = {}  # number -> (hash, stateRoot)
        self.rng = random.Random(1234)

    def nonces(self, rpc: JsonRpcClient) -> dict[str, int]:
        return {b: int(rpc.call("eth_getTransactionCount", "0x" + a.hex(), "latest"), 16) for b, a in self.addresses.items()}

    def deploy_store(self, rpc: JsonRpcClient) -> bytes:
        bank = BANKS[0]
        nonce = self.nonces(rpc)[bank]
        tx_hash = rpc.call("eth_sendRawTransaction", "0x" + sign_dynamic_fee(
            self.keys[bank], CHAIN_ID, nonce, None, STORE_BYTECODE, gas=2_000_000).hex())
        self.wait_receipts(rpc, [tx_hash])
        return create_address(self.addresses[bank], nonce)

    def wait_receipts(self, rpc: JsonRpcClient, hashes: list[str]) -> None:
        outstanding = list(hashes)
        while outstanding:
            replies = rpc.batch([("eth_getTransactionReceipt", [h]) for h in outstanding])
            for h, reply in zip(list(outstanding), replies, strict=True):
                receipt = reply.get("result")
                if receipt:
                    self.ack(rpc, h, receipt)
                    outstanding.remove(h)

    def ack(self, rpc: JsonRpcClient, tx_hash: str, receipt: dict) -> None:
        number = int(receipt["blockNumber"], 16)
        self.acked_txs[tx_hash] = (receipt["blockNumber"], receipt["blockHash"])
        if number not in self.acked_blocks:
            block = rpc.call("eth_getBlockByNumber", receipt["blockNumber"], False)
            self.acked_blocks[number] = (block["hash"], block["stateRoot"])
        assert self.acked_blocks[number][0] == receipt["blockHash"]

    def run_until_killed(self, rpc: JsonRpcClient, store: bytes) -> None:
        """Send and poll until the connection breaks (the node was killed)."""
        nonces = self.nonces(rpc)
        sent: list[str] = []
        try:
            while True:
                calls = []
                for _ in range(40):
                    bank = self.rng.choice(BANKS)
                    data = call_data("setMany(uint256,uint256)", self.rng.randint(0, 500), self.rng.randint(1, 3))
                    raw = sign_dynamic_fee(self.keys[bank], CHAIN_ID, nonces[bank], store, data, gas=500_000)
                    nonces[bank] += 1
                    calls.append(("eth_sendRawTransaction", ["0x" + raw.hex()]))
                for reply in rpc.batch(calls):
                    assert "result" in reply, reply
                    sent.append(reply["result"])
                replies = rpc.batch([("eth_getTransactionReceipt", [h]) for h in sent])
                waiting = []
                for h, reply in zip(sent, replies, strict=True):
                    if reply.get("result"):
                        self.ack(rpc, h, reply["result"])
                    else:
                        waiting.append(h)
                sent = waiting
        except (ConnectionError, OSError):
            return

    def verify(self, rpc: JsonRpcClient) -> None:
        head = int(rpc.call("eth_blockNumber"), 16)
        assert head >= max(self.acked_blocks)
        for number, (block_hash, state_root) in self.acked_blocks.items():
            block = rpc.call("eth_getBlockByNumber", hex(number), False)
            assert (block["hash"], block["stateRoot"]) == (block_hash, state_root)
        hashes = list(self.acked_txs)
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            for h, reply in zip(chunk, rpc.batch([("eth_getTransactionReceipt", [h]) for h in chunk]), strict=True):
                receipt = reply["result"]
                assert receipt is not None, f"acknowledged tx {h} lost"
                assert (receipt["blockNumber"], receipt["blockHash"]) == self.acked_txs[h]
        status = rpc.call("colend_status")
        latest = rpc.call("eth_getBlockByNumber", "latest", False)
        assert status["stateCommitment"] == latest["stateRoot"] and status["head"]["hash"] == latest["hash"]


def child_pids(pid: int) -> set[int]:
    """The processes `pid` started (its RPC workers and its execution process)."""
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children.update(int(c) for c in (task / "children").read_text().split())
    return children


def wait_gone(pids: set[int], timeout_s: float = 10.0) -> set[int]:
    """Those of `pids` still alive after `timeout_s` (a bound on waiting, never a timing assertion)."""
    deadline = time.monotonic() + timeout_s
    while (alive := {p for p in pids if Path(f"/proc/{p}").exists() and _not_zombie(p)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_kill_9_under_load_keeps_every_acknowledged_tx(tmp_path):
    node = NodeProcess(tmp_path / "node", block_period_ms=30)
    node.start()
    client = Client(node)
    rpc = JsonRpcClient(node.port)
    store = client.deploy_store(rpc)
    rpc.close()
    orphans: set[int] = set()

    def crash() -> None:
        assert node.proc is not None
        orphans.update(child_pids(node.proc.pid))
        node.kill9()

    try:
        for delay in (0.4, 0.9, 0.25, 1.3, 0.6):  # kill at arbitrary points: mid-send, mid-execution, mid-commit
            killer = threading.Timer(delay, crash)
            killer.start()
            rpc = JsonRpcClient(node.port)
            client.run_until_killed(rpc, store)
            killer.join()
            rpc.close()
            assert len(orphans) >= 2  # an RPC worker and the execution process at least
            assert wait_gone(orphans) == set(), "a killed node's processes outlived it"
            orphans.clear()
            node.start()
            rpc = JsonRpcClient(node.port)
            client.verify(rpc)
            rpc.close()
        assert len(client.acked_txs) > 500 and len(client.acked_blocks) > 20
        status = subprocess.run([sys.executable, "-m", "colend", "node", "status", "--config",
                                 str(node.root / "node.toml")], cwd=ROOT, capture_output=True, text=True, check=True)
        assert int(json.loads(status.stdout)["head"]["number"], 16) >= max(client.acked_blocks)
    finally:
        if node.proc and node.proc.poll() is None:
            assert node.stop() == 0
    assert_store_equals_replay(node.root, tmp_path / "replay")


def assert_store_equals_replay(root, replay_dir) -> None:
    """The crashed-and-restarted node's persisted state == replaying its blocks from genesis elsewhere."""
    from node.chain.block import Block
    from node.config import load_config
    from node.engine.chain_engine import ChainEngine
    from node.launch.parts import open_engine
    from node.store.chain_store import ChainStore

    survivor = open_engine(load_config(root / "node.toml"))
    replica = ChainEngine(ChainStore(str(replay_dir)), survivor.genesis)
    for n in range(1, survivor.head.number + 1):
        block = survivor.store.block(survivor.store.hash_by_number(n))
        replica.import_block(Block.decode(block.encode(), replica.limits))
    assert (replica.head_hash, replica.state_root()) == (survivor.head_hash, survivor.state_root())
    assert sorted(replica.store.storage()) == sorted(survivor.store.storage())
    assert sorted(replica.store.accounts()) == sorted(survivor.store.accounts())
    survivor.close()
    survivor.store.close()
    replica.store.close()
