"""A real consortium on loopback: 4 validator processes + 1 observer (regulator) over mutual TLS, by
`colend consortium init` and the same launcher `colend consortium up` uses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_hash.auto import keccak

from colend.consortium.layout import read_manifest
from colend.launcher import NodeLauncher
from contracts.ids import text_id
from network.qbft.seals import seal_signer
from node.defaults import DEFAULT_GROUP
from node.keyfiles import read_key
from node.tx.signing import sign_dynamic_fee
from tests.e2e.consortium_cluster import CHAIN_ID, Nodes, consortium_init, eventually, nodes_running
from tests.e2e.node_process import ROOT

pytestmark = pytest.mark.e2e
BANKS = ("WEBANK", "MYBANK", "XWBANK", "HRBANK")
SINK = b"\x5e" * 20


@dataclass
class Cluster(Nodes):
    nonces: dict[str, int]

    def signed_tx(self, bank: str, to: bytes = SINK, data: bytes = b"") -> bytes:
        nonce = self.nonces[bank]
        self.nonces[bank] += 1
        key = read_key(self.root / bank / "keys" / "account.key")
        return sign_dynamic_fee(key, CHAIN_ID, nonce, to, data, gas=2_000_000)

    def send(self, node: str, bank: str, to: bytes = SINK, data: bytes = b"") -> str:
        return self.call(node, "eth_sendRawTransaction", "0x" + self.signed_tx(bank, to, data).hex())

    def govern(self, call: str, arg: bytes, *, proposal: int, voters: tuple[str, ...]) -> int:
        """A proposal by the first bank and votes by the others (2/3 of four banks); the block that executes it."""
        consortium = bytes.fromhex(json.loads((self.root / "genesis.json").read_text())["contracts"]["Consortium"][2:])
        kind = "address" if call.endswith("Validator") else "bytes32"
        calldata = keccak(f"{call}({kind})".encode())[:4] + arg.rjust(32, b"\0")  # an address is left-padded
        proposed = self.send("webank-0", voters[0], consortium, calldata)
        receipts = [eventually("the proposal", lambda: self.receipt_on("webank-0", proposed))]  # before any vote
        vote = keccak(b"vote(uint256)")[:4] + proposal.to_bytes(32, "big")
        votes = [self.send("mybank-0", bank, consortium, vote) for bank in voters[1:]]
        receipts += [eventually("a vote", lambda h=h: self.receipt_on("webank-0", h)) for h in votes]
        assert [r["status"] for r in receipts] == ["0x1"] * len(receipts), receipts
        return max(int(r["blockNumber"], 16) for r in receipts)

    def signers(self, name: str, number: int) -> set[bytes]:
        block = self.call(name, "eth_getBlockByNumber", hex(number), False)
        block_hash = bytes.fromhex(block["hash"][2:])
        return {seal_signer(block_hash, bytes.fromhex(s[2:])) for s in block["commitSeals"]}  # type: ignore[misc]

    def address(self, name: str) -> bytes:
        return bytes.fromhex(self.manifest.node(name).address[2:])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("consortium") / "c"
    manifest = consortium_init(root, BANKS, "--observers", "REGULATOR")
    with nodes_running(root, manifest) as launchers:
        yield Cluster(root, manifest, launchers, {bank: 0 for bank in BANKS})


def test_txs_sent_to_any_validator_finalize_on_all_five_with_identical_state(cluster: Cluster) -> None:
    status = subprocess.run([sys.executable, "-m", "colend", "consortium", "status", str(cluster.root), "--json"],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    assert [row["node"] for row in json.loads(status.stdout)] == cluster.everyone
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
    for entry in cluster.manifest.nodes:
        with urllib.request.urlopen(f"http://127.0.0.1:{entry.metrics_port}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        values = main_group_values(metrics)
        assert values["colend_peers"] == 4 and values["colend_height"] >= 1
        assert {"colend_round", "colend_round_changes_total", "colend_pool_size", "colend_block_execution_seconds_count",
                "colend_finality_latency_seconds_count"} <= values.keys()
    assert sum(values_of(cluster, n, "colend_finality_latency_seconds_count") for n in cluster.validators) >= 24


def test_the_observer_refuses_writes_and_serves_reads(cluster: Cluster) -> None:
    rpc = cluster.rpc("regulator-0")
    try:
        reply = rpc.batch([("eth_sendRawTransaction", ["0x" + cluster.signed_tx("WEBANK").hex()])])[0]
        cluster.nonces["WEBANK"] -= 1  # refused: the nonce is still free
        assert reply["error"]["code"] == -32000 and "observer" in reply["error"]["message"]
        assert reply["error"]["data"]["code"] == "node.read_only_node"
        tx_hash = cluster.send("mybank-0", "WEBANK")
        receipt = eventually("the observer to hold the tx", lambda: rpc.call("eth_getTransactionReceipt", tx_hash))
        block = rpc.call("eth_getBlockByNumber", receipt["blockNumber"], True)
        assert [t["hash"] for t in block["transactions"]] .count(tx_hash) == 1
        assert int(rpc.call("eth_getTransactionCount", "0x" + _account(cluster, "WEBANK").hex(), "latest"), 16) == \
            cluster.nonces["WEBANK"]
    finally:
        rpc.close()


def values_of(cluster: Cluster, name: str, metric: str) -> float:
    port = cluster.manifest.node(name).metrics_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        values = main_group_values(response.read().decode())
    if metric not in values:
        raise AssertionError(f"{metric} not served by {name}")
    return values[metric]


def main_group_values(metrics: str) -> dict[str, float]:
    """The samples of the one group these nodes hold (every series is labelled by group), by metric name."""
    label = f'{{group="{DEFAULT_GROUP}"}}'
    return {name.removesuffix(label): float(value) for name, value in
            (line.split()[:2] for line in metrics.splitlines() if line and line[0] != "#") if name.endswith(label)}


def _account(cluster: Cluster, bank: str) -> bytes:
    from network.qbft import PrivateKeySigner

    return PrivateKeySigner(read_key(cluster.root / bank / "keys" / "account.key")).address


def test_a_validator_killed_9_under_load_and_wiped_catches_up_and_nothing_acknowledged_is_lost(cluster: Cluster) -> None:
    victim = "hrbank-0"
    acknowledged: list[str] = []
    stop = threading.Event()

    def load() -> None:  # clients keep sending to the three other validators the whole time
        i = 0
        while not stop.is_set():
            acknowledged.append(cluster.send(cluster.validators[i % 3], BANKS[i % 4]))
            i += 1

    sender = threading.Thread(target=load)
    sender.start()
    try:
        eventually("load to build up", lambda: len(acknowledged) >= 10)
        cluster.launchers[victim].kill9()
        killed_at = len(acknowledged)
        eventually("load to go on after the kill", lambda: len(acknowledged) >= killed_at + 10)
    finally:
        stop.set()
        sender.join()
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


def test_a_validator_added_by_governance_signs_from_its_activation_and_a_removed_one_stops(cluster: Cluster) -> None:
    from colend.consortium.setup import add_node

    entry = add_node(cluster.root, member="WEBANK", role="validator", name="webank-1", base_port=0)
    cluster.manifest = read_manifest(cluster.root)
    newcomer = cluster.launchers["webank-1"] = NodeLauncher(entry.config(cluster.root), cluster.root / "logs" / "webank-1.log")
    newcomer.start()
    eventually("the new node to follow the chain", lambda: cluster.height("webank-1") >= cluster.height("webank-0"))
    added_in = cluster.govern("proposeAddValidator", cluster.address("webank-1"), proposal=0,
                              voters=("WEBANK", "MYBANK", "XWBANK"))
    for number in range(1, added_in + 1):
        assert cluster.address("webank-1") not in cluster.signers("webank-0", number)  # not before activation
    later = [cluster.send("webank-1", "HRBANK") for _ in range(6)]
    newcomer_address = cluster.address("webank-1")
    eventually("blocks the newcomer seals", lambda: any(
        newcomer_address in cluster.signers("webank-0", n) for n in range(added_in + 1, cluster.height("webank-0") + 1)))
    for tx_hash in later:
        eventually("txs sent to the newcomer", lambda h=tx_hash: cluster.receipt_on("webank-0", h))
    removed_in = cluster.govern("proposeRemoveValidator", cluster.address("hrbank-0"), proposal=1,
                                voters=("WEBANK", "MYBANK", "XWBANK"))
    more = [cluster.send(cluster.validators[i % 3], "MYBANK") for i in range(6)]
    last = max(int(eventually("after removal", lambda h=h: cluster.receipt_on("webank-0", h))["blockNumber"], 16) for h in more)
    assert last > removed_in
    for number in range(removed_in + 1, last + 1):
        assert cluster.address("hrbank-0") not in cluster.signers("webank-0", number)
    cluster.assert_one_chain([*cluster.everyone])


def test_a_suspended_member_is_disconnected_and_a_revoked_certificate_drops_live_sessions(cluster: Cluster) -> None:
    cluster.govern("proposeSuspendMember", text_id("HRBANK"), proposal=2, voters=("WEBANK", "MYBANK", "XWBANK"))
    eventually("everyone to drop the suspended bank", lambda: cluster.status("hrbank-0")["peers"] == 0)
    assert "code=network.not_a_member" in "\n".join(cluster.launchers["webank-0"].lines)
    before = cluster.status("webank-0")["peers"]
    subprocess.run([sys.executable, "-m", "colend", "consortium", "revoke", str(cluster.root), "--node", "regulator-0"],
                   cwd=ROOT, check=True, capture_output=True)
    eventually("the revoked observer dropped", lambda: cluster.status("regulator-0")["peers"] == 0)
    assert cluster.status("webank-0")["peers"] == before - 1
    assert "code=network.cert_revoked" in "\n".join(cluster.launchers["webank-0"].lines)
