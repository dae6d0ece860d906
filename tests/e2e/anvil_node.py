"""Runs Foundry's anvil (pinned in tests/e2e/anvil/package.json) as a foreign Ethereum node for e2e tests.

Accounts come from a fixed mnemonic, so every run has the same funded keys; by default anvil prices gas
(EIP-1559 base fee and tip), `zero_gas=True` makes it a free-gas chain like a permissioned Besu or Quorum.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from colend.ports import free_loopback_port as free_port

ANVIL_DIR = Path(__file__).resolve().parent / "anvil"
ANVIL_BIN = ANVIL_DIR / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
MNEMONIC = "test test test test test test test test test test test junk"
START_TIMEOUT_S = 30

Account.enable_unaudited_hdwallet_features()


def anvil_account(index: int) -> LocalAccount:
    """The funded account `index` of anvil's mnemonic (0 is the deployer in these tests)."""
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


class AnvilNode:
    def __init__(self, log_path: Path, *, chain_id: int, zero_gas: bool = False, hardfork: str | None = None) -> None:
        self.log_path = log_path
        self.chain_id = chain_id
        self.zero_gas = zero_gas
        self.hardfork = hardfork
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        assert ANVIL_BIN.exists(), f"anvil is missing: run `npm ci` in {ANVIL_DIR} (scripts/setup.sh does)"
        args = [str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(self.chain_id),
                "--mnemonic", MNEMONIC, "--accounts", "6"]  # fmt: skip
        if self.zero_gas:
            args += ["--gas-price", "0", "--base-fee", "0", "--no-priority-fee"]
        if self.hardfork:
            args += ["--hardfork", self.hardfork]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                if self.rpc("eth_chainId") == hex(self.chain_id):
                    return self.url
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        raise RuntimeError(f"anvil did not answer within {START_TIMEOUT_S} s")

    def rpc(self, method: str, *params: object) -> object:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
