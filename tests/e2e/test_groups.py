"""Ledger groups on a real consortium: four banks and the regulator in three pair groups (one node per bank),
each group an independent chain held by its banks' nodes and the regulator's alone; and, for a halt and a
kill -9, three banks of two nodes each in two groups (so that a group goes on with one node out of it)."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import plyvel
import pytest
from web3 import Web3

from colend.consortium.layout import group_genesis, read_manifest
from contracts.ids import bank_id, borrower_hash, text_id
from contracts.key_file import load_account
from contracts.rpc_client import SuiteClient
from node.execution.evm import create_address
from node.keyfiles import read_key
from node.rpc.client import RemoteError
from node.store import keys
from node.tx.signing import sign_dynamic_fee
from tests.e2e.consortium_cluster import ROOT, Nodes, consortium_init, eventually, nodes_running
from tests.node.store_contract import STORE_BYTECODE, call_data, slot_of

pytestmark = pytest.mark.e2e
BANKS = ("WEBANK", "MYBANK", "XWBANK", "HRBANK")
WX, WH, MX = "webank-xwbank", "webank-hrbank", "mybank-xwbank"
LOAN_REGISTERED = Web3.keccak(text="LoanRegistered(bytes32,bytes32,bytes3,uint256,bytes32,bytes32,bytes32[],uint16[])")
ENTRY_KIND_FEE = 2  # Clearing.EntryKind.FEE
SINK = b"\x5e" * 20


@dataclass
class GroupNodes(Nodes):
    def node_of(self, bank: str) -> str:
        return f"{bank.lower()}-0"

    def key(self, bank: str) -> bytes:
        return read_key(self.root / bank / "keys" / "account.key")

    def address_of(self, bank: str) -> bytes:
        return bytes.fromhex(load_account(self.root / bank / "keys" / "account.key").address[2:])

    def nonce(self, node: str, group: str, bank: str) -> int:
        return int(self.call(node, "eth_getTransactionCount", "0x" + self.address_of(bank).hex(), "pending",
                             group=group), 16)

    def send(self, node: str, group: str, bank: str, to: bytes | None = SINK, data: bytes = b"") -> str:
        """A tx the bank signs for the group (its next nonce there), sent to the node's endpoint of the group."""
        raw = sign_dynamic_fee(self.key(bank), self.chain_id(group), self.nonce(node, group, bank), to, data, gas=2_000_000)
        return str(self.call(node, "eth_sendRawTransaction", "0x" + raw.hex(), group=group))

    def missing(self, node: str, group: str, hashes: list[str]) -> list[str]:
        """Those of `hashes` the node holds no successful receipt of, in that group."""
        rpc = self.rpc(node, group)
        try:
            absent = []
            for i in range(0, len(hashes), 200):
                chunk = hashes[i : i + 200]
                replies = rpc.batch([("eth_getTransactionReceipt", [h]) for h in chunk])
                absent += [h for h, r in zip(chunk, replies, strict=True) if (r.get("result") or {}).get("status") != "0x1"]
            return absent
        finally:
            rpc.close()

    def headers(self, node: str, group: str, top: int) -> list[tuple[str, str, str]]:
        """(hash, stateRoot, stateCommitment) of the group's blocks 0..top on the node."""
        rpc = self.rpc(node, group)
        try:
            blocks = [r["result"] for r in rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in range(top + 1)])]
        finally:
            rpc.close()
        assert all(b["stateRoot"] == b["stateCommitment"] for b in blocks)
        return [(b["hash"], b["stateRoot"], b["stateCommitment"]) for b in blocks]

    def final_everywhere(self, group: str, hashes: list[str], nodes: list[str] | None = None) -> None:
        for node in nodes or self.holders(group):
            eventually(f"{len(hashes)} txs final on {node} in {group}", lambda n=node: not self.missing(n, group, hashes))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GroupNodes]:
    root = tmp_path_factory.mktemp("groups") / "c"
    manifest = consortium_init(root, BANKS, "--observers", "REGULATOR", "--groups", "WEBANK+XWBANK,WEBANK+HRBANK,MYBANK+XWBANK")
    with nodes_running(root, manifest) as launchers:
        yield GroupNodes(root, manifest, launchers)


@dataclass
class Posted:
    """What each group's banks sent, by group: the tx hashes their own nodes acknowledged and the loan ids."""

    txs: dict[str, list[str]] = field(default_factory=dict)
    loans: dict[str, list[bytes]] = field(default_factory=dict)

    def others(self, groups: tuple[str, ...]) -> set[str]:
        return {h for g, hashes in self.txs.items() if g not in groups for h in hashes}


@pytest.fixture(scope="module")
def posted(cluster: GroupNodes) -> Posted:
    """In each group each bank, signing with its own account key at its own node's endpoint of the group, registers
    a loan it services with a tranche of the other bank, and posts a fee it owes that bank."""
    posted = Posted()
    for group in cluster.manifest.groups:
        contracts = json.loads((cluster.root / group_genesis(group.name)).read_text())["contracts"]
        for bank in group.members:
            (partner,) = (m for m in group.members if m != bank)
            w3 = Web3(Web3.HTTPProvider(cluster.manifest.node(cluster.node_of(bank)).rpc_url(group.name)))
            client, account = SuiteClient(w3, contracts), load_account(cluster.root / bank / "keys" / "account.key")
            assert client.chain_id == group.chain_id
            loan_id = text_id(f"{group.name}-{bank}")
            loan = {"loanId": loan_id, "servicer": bank_id(bank), "currency": b"CNY", "principal": 1_000_000,
                    "borrowerHash": borrower_hash(f"{bank}-borrower-salt".encode(), loan_id.hex()), "termsHash": b"\x22" * 32,
                    "tranches": [{"bank": bank_id(bank), "shareBps": 6000}, {"bank": bank_id(partner), "shareBps": 4000}]}
            fee = {"entryId": text_id(f"fee-{group.name}-{bank}"), "payer": bank_id(bank), "payee": bank_id(partner),
                   "amount": 12_345, "kind": ENTRY_KIND_FEE, "loanId": b"\0" * 32, "valueDate": 20260105,
                   "ref": text_id("servicing-fee")}
            raws = [client.sign(account, "CoLending", "registerLoans", [loan]),
                    client.sign(account, "Clearing", "postEntries", [fee])]
            posted.txs.setdefault(group.name, []).extend(w3.eth.send_raw_transaction(r).to_0x_hex() for r in raws)
            posted.loans.setdefault(group.name, []).append(loan_id)
    return posted


def test_txs_sent_to_either_members_node_finalize_in_their_group_on_both_members_and_the_regulator(
        cluster: GroupNodes, posted: Posted) -> None:
    for group in cluster.manifest.groups:
        holders = cluster.holders(group.name)
        assert sorted(holders) == sorted([*(cluster.node_of(m) for m in group.members), "regulator-0"])
        for node in holders:
            assert int(cluster.call(node, "eth_chainId", group=group.name), 16) == group.chain_id
        cluster.final_everywhere(group.name, posted.txs[group.name])
        for node in holders:
            logs = cluster.call(node, "eth_getLogs", {"fromBlock": "0x0", "topics": ["0x" + LOAN_REGISTERED.hex()]},
                                group=group.name)
            assert sorted(bytes.fromhex(log["topics"][1][2:]) for log in logs) == sorted(posted.loans[group.name])


def test_a_node_outside_a_group_holds_nothing_of_it(cluster: GroupNodes, posted: Posted) -> None:
    for group in cluster.manifest.groups:  # every group's traffic is final on its nodes by now
        cluster.final_everywhere(group.name, posted.txs[group.name])
    for group in cluster.manifest.groups:
        for node in set(cluster.everyone) - set(cluster.holders(group.name)):
            entry = cluster.manifest.node(node)
            assert not (entry.folder(cluster.root) / "data" / group.name).exists()
            assert not (entry.folder(cluster.root) / group_genesis(group.name)).exists()
            assert_unknown_group(entry.rpc_url(group.name), group.name)
            frames = cluster.status(node)["p2pFrames"]
            counts = frames.get(str(group.chain_id), {"received": 0, "refused": {}})
            assert counts["received"] == 0 and not counts["refused"], (node, group.name, counts)
            for held in entry.groups:  # the counters count: each group it holds did reach it
                assert frames[str(cluster.chain_id(held))]["received"] > 0
    for entry in cluster.manifest.nodes:
        for held in entry.groups:
            logs = cluster.call(entry.name, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"}, group=held)
            seen = {log["transactionHash"] for log in logs}
            assert seen == set(posted.txs[held]), (entry.name, held)  # its group's own txs, and nothing else
            assert seen.isdisjoint(posted.others((held,)))
        root_logs = cluster.call(entry.name, "eth_getLogs", {"fromBlock": "0x0"})  # / is its first group
        assert {log["transactionHash"] for log in root_logs} == set(posted.txs[entry.groups[0]])


def assert_unknown_group(url: str, group: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 404
    error = json.loads(refused.value.read())["error"]
    assert error["data"]["code"] == "node.unknown_group" and error["data"]["group"] == group


def test_the_regulator_serves_every_group_with_the_members_state_at_every_height(
        cluster: GroupNodes, posted: Posted) -> None:
    regulator = cluster.manifest.node("regulator-0")
    assert regulator.groups == (WX, WH, MX)
    for group in cluster.manifest.groups:
        cluster.final_everywhere(group.name, posted.txs[group.name], ["regulator-0"])
        members = [cluster.node_of(m) for m in group.members]
        top = min(cluster.height(n, group.name) for n in members)
        eventually("the regulator at the members' height", lambda g=group.name, t=top: cluster.height("regulator-0", g) >= t)
        assert int(cluster.call("regulator-0", "eth_chainId", group=group.name), 16) == group.chain_id
        assert cluster.status("regulator-0", group.name)["group"] == group.name
        chains = {n: cluster.headers(n, group.name, top) for n in [*members, "regulator-0"]}
        assert len({json.dumps(c) for c in chains.values()}) == 1, f"{group.name}: the regulator's state differs"


def test_a_group_added_to_running_nodes_finalizes_while_their_other_groups_go_on(cluster: GroupNodes,
                                                                                 posted: Posted) -> None:
    heights = {group: cluster.height(cluster.node_of(bank), group) for group, bank in ((WX, "WEBANK"), (MX, "MYBANK"))}
    added = subprocess.run([sys.executable, "-m", "colend", "consortium", "add-group", str(cluster.root),
                            "--members", "WEBANK,MYBANK"], cwd=ROOT, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    cluster.manifest = read_manifest(cluster.root)
    new = "webank-mybank"
    assert set(cluster.holders(new)) == {"webank-0", "mybank-0", "regulator-0"}
    eventually("the running nodes serve the added group", lambda: all(_serves(cluster, n, new) for n in cluster.holders(new)))
    sent = [cluster.send("webank-0", new, "WEBANK"), cluster.send("mybank-0", new, "MYBANK")]
    going_on = {WX: [cluster.send("webank-0", WX, "WEBANK")], MX: [cluster.send("mybank-0", MX, "MYBANK")]}
    cluster.final_everywhere(new, sent)  # on both members' nodes and the regulator's, with no restart
    for group, hashes in going_on.items():
        cluster.final_everywhere(group, hashes)
        assert cluster.height(cluster.node_of(group.split("-")[0].upper()), group) > heights[group]
    for outsider in ("xwbank-0", "hrbank-0"):  # a bank outside the new group got nothing of it
        assert not (cluster.root / outsider.split("-")[0].upper() / outsider / "data" / new).exists()
        assert not _serves(cluster, outsider, new)


def _serves(cluster: GroupNodes, node: str, group: str) -> bool:
    try:
        return int(cluster.call(node, "eth_chainId", group=group), 16) == cluster.chain_id(group)
    except RemoteError:
        return False


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GroupNodes]:
    """WEBANK in two groups, every bank with two nodes: a group's four validators go on with one node out."""
    root = tmp_path_factory.mktemp("pairs") / "c"
    manifest = consortium_init(root, ("WEBANK", "XWBANK", "HRBANK"), "--groups", "WEBANK+XWBANK,WEBANK+HRBANK",
                               "--nodes-per-bank", "2")
    with nodes_running(root, manifest) as launchers:
        yield GroupNodes(root, manifest, launchers)


@dataclass
class Lane:
    """One bank's txs into one group through one node's endpoint; what the node acknowledged."""

    node: str
    group: str
    bank: str
    acked: list[str] = field(default_factory=list)


class Load:
    """Txs flowing down every lane, one after the other, until stopped; a lane whose node dies stops."""

    def __init__(self, nodes: GroupNodes, lanes: list[Lane]) -> None:
        self.nodes, self.lanes = nodes, lanes
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        clients = {id(lane): self.nodes.rpc(lane.node, lane.group) for lane in self.lanes}
        nonces = {id(lane): self.nodes.nonce(lane.node, lane.group, lane.bank) for lane in self.lanes}
        keys = {bank: self.nodes.key(bank) for bank in {lane.bank for lane in self.lanes}}
        live = list(self.lanes)
        while live and not self.stop.is_set():
            for lane in list(live):
                raw = sign_dynamic_fee(keys[lane.bank], self.nodes.chain_id(lane.group), nonces[id(lane)], SINK)
                try:
                    lane.acked.append(str(clients[id(lane)].call("eth_sendRawTransaction", "0x" + raw.hex())))
                    nonces[id(lane)] += 1
                except (OSError, http.client.HTTPException) as exc:  # its node is gone: nothing after is sent there
                    live.remove(lane)
                    self.failures.append(f"{lane.node}: {exc!r}")
        for client in clients.values():
            client.close()

    def acked(self, group: str) -> list[str]:
        return [h for lane in self.lanes if lane.group == group for h in lane.acked]


def test_a_node_killed_9_under_load_in_two_groups_catches_up_in_both_and_loses_no_acknowledged_tx(
        pairs: GroupNodes) -> None:
    victim = "webank-0"
    load = Load(pairs, [Lane(victim, WX, "WEBANK"), Lane(victim, WH, "WEBANK"), Lane("xwbank-1", WX, "XWBANK"),
                        Lane("hrbank-1", WH, "HRBANK")])
    load.thread.start()
    try:
        eventually("load in both groups", lambda: min(len(lane.acked) for lane in load.lanes) >= 10)
        pairs.launchers[victim].kill9()
        at_kill = {g: len(load.acked(g)) for g in (WX, WH)}
        eventually("load to go on after the kill", lambda: all(len(load.acked(g)) >= n + 20 for g, n in at_kill.items()))
    finally:
        load.stop.set()
        load.thread.join()
    assert {f.split(":")[0] for f in load.failures} <= {victim}, load.failures
    others = load.lanes[2:]
    for lane in others:  # each group goes on without the victim: three of its four validators
        pairs.final_everywhere(lane.group, lane.acked, [lane.node])
    pairs.restart(victim)
    for lane in others:
        head = pairs.height(lane.node, lane.group)
        eventually(f"{victim} to catch up in {lane.group}", lambda g=lane.group, h=head: pairs.height(victim, g) >= h)
        pairs.final_everywhere(lane.group, load.acked(lane.group))  # every acknowledged tx, on every node of it
        pairs.assert_one_chain(pairs.holders(lane.group), lane.group)


def plant_slot(chain_dir: Path, address: bytes, slot: int, value: int) -> None:
    """Overwrite one stored storage slot (node/store/keys.py layout) of a stopped node's group store: its account
    records, and so the head's state commitment the store is checked against on opening, are untouched."""
    db = plyvel.DB(str(chain_dir))
    try:
        key = keys.slot_key(address, slot)
        assert db.get(key) is not None, "the slot the next tx writes is stored"
        db.put(key, value.to_bytes(32, "big").lstrip(b"\0"))
    finally:
        db.close()


def test_a_group_halted_by_a_planted_commitment_mismatch_stops_alone_while_the_nodes_other_group_finalizes(
        pairs: GroupNodes) -> None:
    victim, writer = "webank-0", "xwbank-0"
    store = create_address(pairs.address_of("XWBANK"), pairs.nonce(writer, WX, "XWBANK"))
    first = [pairs.send(writer, WX, "XWBANK", None, STORE_BYTECODE),
             pairs.send(writer, WX, "XWBANK", store, call_data("set(uint256,uint256)", 7, 1))]
    pairs.final_everywhere(WX, first)
    assert pairs.launchers[victim].stop() == 0
    # Another non-zero value than the chain's: the next set() costs the same gas and logs the same, so only the
    # state commitment (its storage digest) differs on the victim.
    plant_slot(pairs.manifest.node(victim).folder(pairs.root) / "data" / WX / "chain", store, slot_of(7), 99)
    pairs.restart(victim)
    second = pairs.send(writer, WX, "XWBANK", store, call_data("set(uint256,uint256)", 7, 2))
    receipt = eventually("the other three to finalize the set", lambda: pairs.receipt_on(writer, second, WX))
    lines = pairs.launchers[victim].lines
    eventually("the victim to halt the group", lambda: any(f"event=node_halted group={WX}" in line for line in lines))
    assert any("state_commitment_mismatch" in line for line in lines)
    halted = pairs.status(victim, WX)
    assert halted["halted"] and int(halted["head"]["number"], 16) < int(receipt["blockNumber"], 16)
    before = pairs.height(victim, WH)
    later = [pairs.send(victim, WH, "WEBANK"), pairs.send("hrbank-0", WH, "HRBANK")]
    pairs.final_everywhere(WH, later, [victim])
    assert pairs.height(victim, WH) > before and not pairs.status(victim, WH)["halted"]
    assert pairs.launchers[victim].running() and pairs.status(victim, WX)["halted"]
