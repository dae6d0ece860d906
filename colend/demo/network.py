"""The demo's consortium: fresh PKI, keys and a chain in a folder, its node processes, and who uses which node.

In a consortium each bank runs a validator node and the regulator an observer node (read-only, never
votes), all talking mutual TLS under the consortium CA; each member sends to and reads from its own node.
A single-node network runs one validator process that every member uses. Either way each member has its own
account key, and `member_node` says which node it uses, so callers do not care which network runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from colend.consortium.layout import read_manifest
from colend.errors import DemoNetworkFailed, NodeStartFailed
from colend.launcher import NodeLauncher
from colend.ports import free_loopback_port

NODE_START_TIMEOUT_S = 60
BLOCK_PERIOD_MS = 50


@dataclass
class DemoNetwork:
    """Running node processes, each member's key and node URL, and the suite's addresses."""

    root: Path
    contracts: dict[str, str]
    accounts: dict[str, LocalAccount]  # member id -> its account key
    key_files: dict[str, Path]  # member id -> the file holding that key (0600), for its clearing service
    member_node: dict[str, str]  # member id -> the node (name) it sends to and reads from
    node_urls: dict[str, str]  # node name -> RPC URL (planned before start, so services can be set up meanwhile)
    launchers: dict[str, NodeLauncher] = field(default_factory=dict)

    def url(self, member: str) -> str:
        return self.node_urls[self.member_node[member]]

    def start(self) -> None:
        """Starts every node at once (validators started seconds apart would time out rounds waiting)."""
        with ThreadPoolExecutor(len(self.launchers), thread_name_prefix="start") as pool:
            started = dict(zip(self.launchers, pool.map(_start, self.launchers.values()), strict=True))
        failed = [outcome for outcome in started.values() if isinstance(outcome, NodeStartFailed)]
        if failed:
            self.stop()
            raise DemoNetworkFailed(failed[0].message) from failed[0]
        self.node_urls = {name: str(url) for name, url in started.items()}

    def stop(self) -> dict[str, int]:
        """Stops every started node cleanly (SIGTERM to all at once, SIGKILL after a timeout); their exit codes."""
        started = {name: launcher for name, launcher in self.launchers.items() if launcher.proc is not None}
        for launcher in started.values():
            launcher.terminate()
        return {name: launcher.wait() for name, launcher in started.items()}

    def pids(self) -> dict[str, int]:
        return {name: launcher.proc.pid for name, launcher in self.launchers.items() if launcher.proc is not None}


def _start(launcher: NodeLauncher) -> str | NodeStartFailed:
    try:
        return launcher.start()
    except NodeStartFailed as err:
        return err


def consortium_network(root: Path, banks: tuple[str, ...], observers: tuple[str, ...]) -> DemoNetwork:
    """`colend consortium init`: fresh PKI, a validator node per bank and an observer node per observer, talking
    mutual TLS; each member sends to and reads from its own node."""
    folder = root / "consortium"
    done = subprocess.run(
        [sys.executable, "-m", "colend", "consortium", "init", "--banks", ",".join(banks), "--observers",
         ",".join(observers), "--out", str(folder), "--base-port", "0", "--block-period-ms", str(BLOCK_PERIOD_MS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise DemoNetworkFailed(f"colend consortium init failed: {done.stderr.strip()}")
    manifest = read_manifest(folder)
    genesis = json.loads((folder / "genesis.json").read_text())
    key_files = {member: folder / member / "keys" / "account.key" for member in (*banks, *observers)}
    (folder / "logs").mkdir(exist_ok=True)
    launchers = {
        e.name: NodeLauncher(e.config(folder), folder / "logs" / f"{e.name}.log", start_timeout_s=NODE_START_TIMEOUT_S)
        for e in manifest.nodes
    }
    return DemoNetwork(
        root=root,
        contracts=genesis["contracts"],
        accounts={member: Account.from_key(_key(path)) for member, path in key_files.items()},
        key_files=key_files,
        member_node={e.member: e.name for e in manifest.nodes},
        node_urls={e.name: f"http://127.0.0.1:{e.rpc_port}" for e in manifest.nodes},
        launchers=launchers,
    )


def single_node_network(root: Path, banks: tuple[str, ...], observers: tuple[str, ...]) -> DemoNetwork:
    """`colend init`: one validator node that every member uses (one process: light machines, quick looks)."""
    node_dir = root / "node"
    port = free_loopback_port()
    done = subprocess.run(
        [sys.executable, "-m", "colend", "init", "--dir", str(node_dir), "--banks", ",".join(banks),
         "--observers", ",".join(observers), "--rpc-port", str(port), "--block-period-ms", str(BLOCK_PERIOD_MS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise DemoNetworkFailed(f"colend init failed: {done.stderr.strip()}")
    info = json.loads(done.stdout)
    key_files = {member: Path(m["keyFile"]) for member, m in info["members"].items()}
    launcher = NodeLauncher(node_dir / "node.toml", node_dir / "node.log", start_timeout_s=NODE_START_TIMEOUT_S)
    return DemoNetwork(
        root=root,
        contracts=info["contracts"],
        accounts={member: Account.from_key(_key(path)) for member, path in key_files.items()},
        key_files=key_files,
        member_node={member: "node" for member in (*banks, *observers)},
        node_urls={"node": f"http://127.0.0.1:{port}"},
        launchers={"node": launcher},
    )


NETWORKS = {"consortium": consortium_network, "single": single_node_network}


def _key(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip().removeprefix("0x"))
