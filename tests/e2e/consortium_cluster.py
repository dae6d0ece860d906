"""A real consortium on loopback for e2e tests: a folder made by `colend consortium init`, its nodes run as
processes by the launcher `colend consortium up` uses (colend/consortium/operate.py), and JSON-RPC to any node's
endpoint of any group it holds."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from colend.consortium.layout import Manifest, read_manifest
from colend.consortium.operate import start_all, stop_all
from colend.launcher import NodeLauncher
from node.rpc.client import JsonRpcClient
from tests.e2e.node_process import ROOT

CHAIN_ID = 777  # the consortium's base chain id; a group's is CHAIN_ID + 1 + its index in --groups
WAIT_S = 90.0


def eventually(what: str, condition: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    """Polls a node-side condition (a receipt, a height) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def consortium_init(root: Path, banks: tuple[str, ...], *options: str) -> Manifest:
    """`colend consortium init` into `root` on free loopback ports, 50 ms blocks, base chain id CHAIN_ID."""
    subprocess.run([sys.executable, "-m", "colend", "consortium", "init", "--banks", ",".join(banks), *options,
                    "--out", str(root), "--base-port", "0", "--block-period-ms", "50", "--chain-id", str(CHAIN_ID)],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    return read_manifest(root)


@contextmanager
def nodes_running(root: Path, manifest: Manifest) -> Iterator[dict[str, NodeLauncher]]:
    """Every node of the folder started at once; on exit, every one still running stopped (nodes the test adds to
    the yielded launchers too)."""
    launchers = start_all(root, manifest)
    try:
        yield launchers
    finally:
        stop_all({n: launcher for n, launcher in launchers.items() if launcher.running()})


@dataclass
class Nodes:
    """The running nodes of a consortium folder; `group` picks an endpoint (`/g/<group>`), None the port's root."""

    root: Path
    manifest: Manifest
    launchers: dict[str, NodeLauncher]

    def rpc(self, name: str, group: str | None = None) -> JsonRpcClient:
        return JsonRpcClient(self.manifest.node(name).rpc_url(group))

    def call(self, name: str, method: str, *params: object, group: str | None = None) -> Any:
        rpc = self.rpc(name, group)
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

    def holders(self, group: str) -> list[str]:
        """The nodes that hold a group: its banks' and the observers'."""
        return [e.name for e in self.manifest.nodes if group in e.groups]

    def chain_id(self, group: str) -> int:
        return self.manifest.group(group).chain_id

    def height(self, name: str, group: str | None = None) -> int:
        return int(self.call(name, "eth_blockNumber", group=group), 16)

    def status(self, name: str, group: str | None = None) -> dict[str, Any]:
        return self.call(name, "colend_status", group=group)

    def receipt_on(self, name: str, tx_hash: str, group: str | None = None) -> dict[str, Any] | None:
        return self.call(name, "eth_getTransactionReceipt", tx_hash, group=group)

    def restart(self, name: str) -> None:
        self.launchers[name].start()

    def assert_one_chain(self, names: list[str], group: str | None = None) -> int:
        """The same block hash and state commitment at every height the nodes all hold: no fork."""
        top = min(self.height(n, group) for n in names)
        rpcs = {n: self.rpc(n, group) for n in names}
        try:
            for number in range(top + 1):
                blocks = [rpcs[n].call("eth_getBlockByNumber", hex(number), False) for n in names]
                assert len({(b["hash"], b["stateRoot"]) for b in blocks}) == 1, f"nodes differ at height {number}"
        finally:
            for rpc in rpcs.values():
                rpc.close()
        return top
