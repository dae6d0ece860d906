"""The consortium across network namespaces: each node in its own namespace (veth to a bridge), p2p and RPC
on its namespace's address, a partition that heals, and, where the kernel has tc netem, delay and loss.

Needs root (CAP_NET_ADMIN) to create namespaces; skips and says why otherwise. All traffic stays on the
namespaces and bridge this test creates (10.x.y.0/24, never routed anywhere).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from colend.consortium.layout import Manifest, read_manifest
from colend.launcher import NodeLauncher
from node.config import PeerConfig, load_config
from node.keyfiles import read_key
from node.tx.signing import sign_dynamic_fee
from tests.e2e.node_process import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CHAIN_ID = 778
TOKEN = "netns-test-rpc-token-0123456789"
WAIT_S = 120.0
TAG = f"c{os.getpid() % 100_000}"
SUBNET = f"10.{77 + os.getpid() % 100}.{os.getpid() % 250}"


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def why_no_netns() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN)"
    probe = f"{TAG}probe"
    made = sh("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    sh("ip", "netns", "del", probe, check=False)
    return None


def why_no_netem() -> str | None:
    probe = f"{TAG}netem"
    sh("ip", "netns", "add", probe)
    try:
        added = sh("ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
                   check=False)
        return None if added.returncode == 0 else f"tc netem unavailable here: {added.stderr.strip()}"
    finally:
        sh("ip", "netns", "del", probe, check=False)


@dataclass
class NsCluster:
    root: Path
    manifest: Manifest
    launchers: dict[str, NodeLauncher]
    ips: dict[str, str]
    nonce: int = 0

    def call(self, name: str, method: str, *params: object) -> Any:
        entry = self.manifest.node(name)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(f"http://{self.ips[name]}:{entry.rpc_port}/", body, {
            "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]

    def height(self, name: str) -> int:
        return int(self.call(name, "eth_blockNumber"), 16)

    def send(self, name: str) -> str:
        key = read_key(self.root / "WEBANK" / "keys" / "account.key")
        raw = sign_dynamic_fee(key, CHAIN_ID, self.nonce, b"\x5e" * 20, b"", gas=50_000)
        self.nonce += 1
        return self.call(name, "eth_sendRawTransaction", "0x" + raw.hex())

    def wait_receipts(self, hashes: list[str], names: list[str]) -> None:
        deadline = time.monotonic() + WAIT_S
        for name in names:
            for tx_hash in hashes:
                while self.call(name, "eth_getTransactionReceipt", tx_hash) is None:
                    assert time.monotonic() < deadline, f"{tx_hash} not final on {name}"
                    time.sleep(0.1)

    def one_chain(self, names: list[str]) -> int:
        top = min(self.height(n) for n in names)
        for number in range(top + 1):
            seen = {(b["hash"], b["stateRoot"]) for b in (self.call(n, "eth_getBlockByNumber", hex(number), False)
                                                           for n in names)}
            assert len(seen) == 1, f"fork at height {number}"
        return top

    def host_link(self, name: str) -> str:
        return f"{TAG}h{list(self.ips).index(name)}"


def build_namespaces(names: list[str]) -> dict[str, str]:
    """A bridge in this namespace and, per node, a namespace joined to it by a veth pair."""
    bridge = f"{TAG}br"
    sh("ip", "link", "add", bridge, "type", "bridge")
    sh("ip", "addr", "add", f"{SUBNET}.254/24", "dev", bridge)
    sh("ip", "link", "set", bridge, "up")
    ips = {}
    for i, name in enumerate(names):
        ns, host_end, node_end, ip = f"{TAG}n{i}", f"{TAG}h{i}", f"{TAG}v{i}", f"{SUBNET}.{i + 1}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", node_end)
        sh("ip", "link", "set", node_end, "netns", ns)
        sh("ip", "link", "set", host_end, "master", bridge)
        sh("ip", "link", "set", host_end, "up")
        sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", node_end)
        sh("ip", "-n", ns, "link", "set", node_end, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        ips[name] = ip
    return ips


def tear_down_namespaces(count: int) -> None:
    for i in range(count):
        sh("ip", "netns", "del", f"{TAG}n{i}", check=False)
        sh("ip", "link", "del", f"{TAG}h{i}", check=False)
    sh("ip", "link", "del", f"{TAG}br", check=False)


@pytest.fixture(scope="module")
def ns_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NsCluster]:
    reason = why_no_netns()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("netns") / "c"
    subprocess.run([sys.executable, "-m", "colend", "consortium", "init", "--banks", "WEBANK,MYBANK,XWBANK,HRBANK",
                    "--observers", "REGULATOR", "--out", str(root), "--base-port", "0", "--block-period-ms", "50",
                    "--chain-id", str(CHAIN_ID)], cwd=ROOT, check=True, capture_output=True)
    manifest = read_manifest(root)
    names = [e.name for e in manifest.nodes]
    launchers: dict[str, NodeLauncher] = {}
    try:
        ips = build_namespaces(names)
        for i, entry in enumerate(manifest.nodes):  # p2p and RPC on the namespace's address, RPC behind a token
            config = load_config(entry.config(root))
            assert config.p2p is not None
            peers = tuple(PeerConfig(f"wss://{ips[p.name]}:{p.p2p_port}/p2p", p.member, p.address)
                          for p in manifest.nodes if p.name != entry.name)
            (entry.folder(root) / "rpc.token").write_text(TOKEN + "\n")
            replace(config, rpc_host=ips[entry.name], rpc_token_file="rpc.token",
                    p2p=replace(config.p2p, host=ips[entry.name], peers=peers)).write(entry.config(root))
            launchers[entry.name] = NodeLauncher(entry.config(root), root / f"{entry.name}.log",
                                                 prefix=("ip", "netns", "exec", f"{TAG}n{i}"))
        for launcher in launchers.values():
            launcher.start()
        yield NsCluster(root, manifest, launchers, ips)
    finally:
        for launcher in launchers.values():
            if launcher.running():
                launcher.stop()
        tear_down_namespaces(len(names))


def test_txs_finalize_across_namespaces_and_a_partitioned_validator_catches_up_when_it_heals(ns_cluster: NsCluster) -> None:
    names = list(ns_cluster.ips)
    first = [ns_cluster.send(names[i % 4]) for i in range(8)]
    ns_cluster.wait_receipts(first, names)
    ns_cluster.one_chain(names)
    cut = "hrbank-0"
    sh("ip", "link", "set", ns_cluster.host_link(cut), "down")  # the partition: its namespace is cut off
    try:
        during = [ns_cluster.send(names[i % 3]) for i in range(8)]
        ns_cluster.wait_receipts(during, [n for n in names if n != cut])  # three of four go on
    finally:
        sh("ip", "link", "set", ns_cluster.host_link(cut), "up")  # healed
    ns_cluster.wait_receipts(first + during, [cut])
    ns_cluster.one_chain(names)


def test_with_delay_and_loss_on_every_link_the_chain_still_finalizes_one_history(ns_cluster: NsCluster) -> None:
    reason = why_no_netem()
    if reason:
        pytest.skip(reason)
    for i in range(len(ns_cluster.ips)):
        sh("ip", "netns", "exec", f"{TAG}n{i}", "tc", "qdisc", "add", "dev", f"{TAG}v{i}", "root", "netem",
           "delay", "20ms", "5ms", "loss", "1%")
    names = list(ns_cluster.ips)
    hashes = [ns_cluster.send(names[i % 4]) for i in range(12)]
    ns_cluster.wait_receipts(hashes, names)
    ns_cluster.one_chain(names)
