"""Drives a `colend node run` subprocess for e2e tests: init a node dir, start, kill -9, restart, JSON-RPC calls."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
from pathlib import Path

from colend.launcher import NodeLauncher

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rpc:
    """A keep-alive JSON-RPC client; batches are lists of (method, params)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._id = 0

    def batch(self, calls: list[tuple[str, list]]) -> list[dict]:
        body = []
        for method, params in calls:
            self._id += 1
            body.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        self.conn.request("POST", "/", json.dumps(body), {"Content-Type": "application/json"})
        replies = json.loads(self.conn.getresponse().read())
        by_id = {r["id"]: r for r in replies}
        return [by_id[b["id"]] for b in body]

    def call(self, method: str, *params: object) -> object:
        reply = self.batch([(method, list(params))])[0]
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]

    def close(self) -> None:
        self.conn.close()


class NodeProcess:
    """A fresh chain (WEBANK, MYBANK, a regulator) and its node process, driven by colend.launcher.NodeLauncher."""

    def __init__(self, root: Path, block_period_ms: int = 50) -> None:
        self.root = root
        self.port = free_port()
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
