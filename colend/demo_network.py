"""The demo's consortium: fresh keys and a chain in a folder, its node processes, and who talks to which node.

Each member (four banks and the regulator) gets its own account key and the RPC address of the node it
uses. Today the consortium runs one validator process that every member talks to; the topology is the
`nodes` mapping, so members move to their own nodes by changing where the mapping points, not the callers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

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
    member_node: dict[str, str]  # member id -> the node (name) it sends to and reads from
    node_urls: dict[str, str] = field(default_factory=dict)  # node name -> RPC URL
    launchers: dict[str, NodeLauncher] = field(default_factory=dict)

    def url(self, member: str) -> str:
        return self.node_urls[self.member_node[member]]

    def start(self) -> None:
        for name, launcher in self.launchers.items():
            try:
                self.node_urls[name] = launcher.start()
            except NodeStartFailed as err:
                self.stop()
                raise DemoNetworkFailed(err.message) from err

    def stop(self) -> dict[str, int]:
        """Stops every started node cleanly (SIGTERM, then SIGKILL after a timeout); their exit codes."""
        return {name: launcher.stop() for name, launcher in self.launchers.items() if launcher.proc is not None}

    def pids(self) -> dict[str, int]:
        return {name: launcher.proc.pid for name, launcher in self.launchers.items() if launcher.proc is not None}


def single_node_network(root: Path, banks: tuple[str, ...], observers: tuple[str, ...]) -> DemoNetwork:
    """`colend init` for one validator node that every member uses (one process, before multi-node lands)."""
    node_dir = root / "node"
    done = subprocess.run(
        [sys.executable, "-m", "colend", "init", "--dir", str(node_dir), "--banks", ",".join(banks),
         "--observers", ",".join(observers), "--rpc-port", str(free_loopback_port()), "--block-period-ms", str(BLOCK_PERIOD_MS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise DemoNetworkFailed(f"colend init failed: {done.stderr.strip()}")
    info = json.loads(done.stdout)
    accounts = {
        member: Account.from_key(bytes.fromhex(Path(m["keyFile"]).read_text().strip().removeprefix("0x")))
        for member, m in info["members"].items()
    }
    launcher = NodeLauncher(node_dir / "node.toml", node_dir / "node.log", start_timeout_s=NODE_START_TIMEOUT_S)
    return DemoNetwork(
        root=root,
        contracts=info["contracts"],
        accounts=accounts,
        member_node={member: "node" for member in (*banks, *observers)},
        launchers={"node": launcher},
    )
