"""A real consortium on loopback: 4 validator processes + 1 observer (regulator) over mutual TLS, by
`colend consortium init` and the same launcher `colend consortium up` uses."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from colend.consortium.layout import Manifest, read_manifest
from colend.consortium.operate import start_all, stop_all
from colend.launcher import NodeLauncher
from node.keyfiles import read_key
from node.tx.signing import sign_dynamic_fee
from tests.e2e.node_process import ROOT, Rpc

pytestmark = pytest.mark.e2e
CHAIN_ID = 777
BANKS = ("WEBANK", "MYBANK", "XWBANK", "HRBANK")
WAIT_S = 90.0
SINK = b"\x5e" * 20


def eventually(what: str, condition: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    """Polls a node-side condition (a receipt, a height) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@dataclass
class Cluster:
    root: Path
    manifest: Manifest
    launchers: dict[str, NodeLauncher]
    nonces: dict[str, int]

    def rpc(self, name: str) -> Rpc:
        return Rpc(self.manifest.node(name).rpc_port)

    def call(self, name: str, method: str, *params: object) -> Any:
        rpc = self.rpc(name)
        try:
            return rpc.call(method, *params)
        finally:
            rpc.close()

    @property
    def validators(self) -> list[str]:
        return [e.name for e in self.manifest.nodes if e.role == "validator"]

    @property
    def everyone(self) -> list[str]:
        return [e.name for e in self.manifest.nodes]

    def height(self, name: str) -> int:
        return int(self.call(name, "eth_blockNumber"), 16)

    def status(self, name: str) -> dict[str, Any]:
        return self.call(name, "colend_status")

    def signed_tx(self, bank: str) -> bytes:
        nonce = self.nonces[bank]
        self.nonces[bank] += 1
        key = read_key(self.root / bank / "keys" / "account.key")
        return sign_dynamic_fee(key, CHAIN_ID, nonce, SINK, b"", gas=50_000)

    def send(self, node: str, bank: str) -> str:
        return self.call(node, "eth_sendRawTransaction", "0x" + self.signed_tx(bank).hex())

    def receipt_on(self, name: str, tx_hash: str) -> dict[str, Any] | None:
        return self.call(name, "eth_getTransactionReceipt", tx_hash)

    def restart(self, name: str) -> None:
        self.launchers[name].start()

    def assert_one_chain(self, names: list[str]) -> int:
        """The same block hash and state commitment at every height the nodes all hold: no fork."""
        top = min(self.height(n) for n in names)
        rpcs = {n: self.rpc(n) for n in names}
        try:
            for number in range(top + 1):
                blocks = [rpcs[n].call("eth_getBlockByNumber", hex(number), False) for n in names]
                assert len({(b["hash"], b["stateRoot"]) for b in blocks}) == 1, f"nodes differ at height {number}"
        finally:
            for rpc in rpcs.values():
                rpc.close()
        return top


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("consortium") / "c"
    subprocess.run([sys.executable, "-m", "colend", "consortium", "init", "--banks", ",".join(BANKS),
                    "--observers", "REGULATOR", "--out", str(root), "--base-port", "0", "--block-period-ms", "50",
                    "--chain-id", str(CHAIN_ID)], cwd=ROOT, check=True, capture_output=True, text=True)
    manifest = read_manifest(root)
    launchers = start_all(root, manifest)
    try:
        yield Cluster(root, manifest, launchers, {bank: 0 for bank in BANKS})
    finally:
        stop_all({n: launcher for n, launcher in launchers.items() if launcher.running()})


def test_txs_sent_to_any_validator_finalize_on_all_five_with_identical_state(cluster: Cluster) -> None:
    hashes = []
    for i in range(24):  # round-robin over the validators, from every bank's account
        hashes.append(cluster.send(cluster.validators[i % 4], BANKS[i % 4]))
    for name in cluster.everyone:
        for tx_hash in hashes:
            receipt = eventually(f"{tx_hash} on {name}", lambda n=name, h=tx_hash: cluster.receipt_on(n, h))
            assert receipt["status"] == "0x1"
    top = cluster.assert_one_chain(cluster.everyone)
    assert top >= 1
    statuses = [cluster.status(n) for n in cluster.everyone]
    assert {s["role"] for s in statuses} == {"validator", "observer"}
    assert all(s["peers"] == 4 for s in statuses)  # a full mesh: each node sees the four others


def test_the_observer_refuses_writes_and_serves_reads(cluster: Cluster) -> None:
    rpc = cluster.rpc("regulator-0")
    try:
        reply = rpc.batch([("eth_sendRawTransaction", ["0x" + cluster.signed_tx("WEBANK").hex()])])[0]
        cluster.nonces["WEBANK"] -= 1  # refused: the nonce is still free
        assert reply["error"]["code"] == -32000 and "observer" in reply["error"]["message"]
        tx_hash = cluster.send("mybank-0", "WEBANK")
        receipt = eventually("the observer to hold the tx", lambda: rpc.call("eth_getTransactionReceipt", tx_hash))
        block = rpc.call("eth_getBlockByNumber", receipt["blockNumber"], True)
        assert [t["hash"] for t in block["transactions"]] .count(tx_hash) == 1
        assert int(rpc.call("eth_getTransactionCount", "0x" + _account(cluster, "WEBANK").hex(), "latest"), 16) == \
            cluster.nonces["WEBANK"]
    finally:
        rpc.close()


def _account(cluster: Cluster, bank: str) -> bytes:
    from network.qbft import PrivateKeySigner

    return PrivateKeySigner(read_key(cluster.root / bank / "keys" / "account.key")).address


def test_a_validator_killed_9_and_wiped_catches_up_and_nothing_acknowledged_is_lost(cluster: Cluster) -> None:
    victim = "hrbank-0"
    acknowledged = [cluster.send(cluster.validators[i % 3], BANKS[i % 4]) for i in range(8)]
    cluster.launchers[victim].kill9()
    acknowledged += [cluster.send(cluster.validators[i % 3], BANKS[i % 4]) for i in range(8)]  # 3 of 4 go on
    for tx_hash in acknowledged:
        eventually("the chain to go on without the killed validator", lambda h=tx_hash: cluster.receipt_on("webank-0", h))
    cluster.restart(victim)
    head = cluster.height("webank-0")
    eventually("the restarted validator to catch up", lambda: cluster.height(victim) >= head)
    cluster.launchers[victim].stop()
    shutil.rmtree(cluster.manifest.node(victim).folder(cluster.root) / "data")
    cluster.restart(victim)
    head = cluster.height("webank-0")
    eventually("the wiped validator to catch up", lambda: cluster.height(victim) >= head)
    for tx_hash in acknowledged:
        assert cluster.receipt_on(victim, tx_hash)["status"] == "0x1"
    cluster.assert_one_chain(cluster.everyone)


def test_two_of_four_down_halts_without_a_fork_and_resumes_when_one_returns(cluster: Cluster) -> None:
    for name in ("xwbank-0", "hrbank-0"):
        cluster.launchers[name].stop()
    tx_hash = cluster.send("webank-0", "WEBANK")
    # The two left keep trying: wait until they have moved rounds, which proves time passed with no quorum.
    eventually("round changes without a quorum", lambda: cluster.status("webank-0")["round"] >= 2)
    assert cluster.receipt_on("webank-0", tx_hash) is None and cluster.receipt_on("mybank-0", tx_hash) is None
    halted_at = cluster.assert_one_chain(["webank-0", "mybank-0", "regulator-0"])
    cluster.restart("xwbank-0")
    receipt = eventually("the chain to resume", lambda: cluster.receipt_on("webank-0", tx_hash))
    assert int(receipt["blockNumber"], 16) > halted_at
    rounds = [cluster.status(n)["round"] for n in ("webank-0", "mybank-0", "xwbank-0")]
    assert max(rounds) <= 1  # once resumed, the next heights decide in their first rounds: no round-change storm
    cluster.restart("hrbank-0")
    eventually("the last validator back", lambda: cluster.height("hrbank-0") >= int(receipt["blockNumber"], 16))
    cluster.assert_one_chain(cluster.everyone)
