"""Drives a `colend node run` subprocess for e2e tests: init a node dir, start, kill -9, restart (JSON-RPC calls
go through node.rpc.client.JsonRpcClient)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from colend.launcher import NodeLauncher
from colend.ports import free_loopback_port

ROOT = Path(__file__).resolve().parents[2]


class NodeProcess:
    """A fresh chain (WEBANK, MYBANK, a regulator) and its node process, driven by colend.launcher.NodeLauncher."""

    def __init__(self, root: Path, block_period_ms: int = 50) -> None:
        self.root = root
        self.port = free_loopback_port()
        out = subprocess.run(
            [sys.executable, "-m", "colend", "init", "--dir", str(root), "--chain-id", "777",
             "--banks", "WEBANK,MYBANK", "--observers", "REGULATOR", "--rpc-port", str(self.port),
             "--block-period-ms", str(block_period_ms)],
            cwd=ROOT, check=True, capture_output=True, text=True)
        self.info = json.loads(out.stdout)
        self.runner = NodeLauncher(root / "node.toml", root / "node.log")

    @property
    def proc(self) -> subprocess.Popen[str] | None:
        return self.runner.proc

    @property
    def startup_lines(self) -> list[str]:
        """The log of the latest start, up to event=node_started."""
        return self.runner.startup_lines

    def key(self, bank: str) -> bytes:
        return bytes.fromhex((self.root / "keys" / f"{bank.lower()}.key").read_text().strip()[2:])

    def start(self) -> None:
        """Start and return once the node logs that it started (no sleeps: we read its log)."""
        self.runner.start()

    def kill9(self) -> None:
        self.runner.kill9()

    def stop(self) -> int:
        return self.runner.stop()
