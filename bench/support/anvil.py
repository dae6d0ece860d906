"""The one launcher of Foundry's anvil, an Ethereum dev node: bench.node's yardstick and the e2e tests' foreign
chain. One npm pin, tools/anvil/package-lock.json: scripts/setup.sh installs it for the tests, bench.node runs
`install()` on first use. It lives in bench/, not in a production package, because only benchmarks and tests
run anvil."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.support.discover import ROOT
from colend.ports import free_loopback_port
from node.rpc.client import JsonRpcClient

ANVIL_DIR = ROOT / "tools" / "anvil"
ANVIL_BIN = ANVIL_DIR / "node_modules" / ".bin" / "anvil"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def installed() -> bool:
    return ANVIL_BIN.exists()


def install() -> None:
    """`npm ci` in tools/anvil/: the lockfile pins anvil's exact build."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is not installed; anvil comes from the npm package in {ANVIL_DIR / 'package.json'}")
    print(f"installing anvil (npm ci in {ANVIL_DIR})", file=sys.stderr, flush=True)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ANVIL_DIR, check=True, stdout=sys.stderr)


def version() -> str:
    out = subprocess.run([str(ANVIL_BIN), "--version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0].strip() if out else "unknown"


class Anvil:
    """One anvil process on a free loopback port. Unset options keep anvil's defaults; `zero_gas` makes a
    free-gas chain (base fee, gas price and minimum tip 0), as Colend and a permissioned Besu or Quorum price gas."""

    def __init__(self, log_path: Path, *, chain_id: int, block_time_s: float | None = None, gas_limit: int | None = None,
                 zero_gas: bool = False, mnemonic: str | None = None, accounts: int | None = None,
                 hardfork: str | None = None, no_request_size_limit: bool = False) -> None:  # fmt: skip
        self.log_path = log_path
        self.chain_id = chain_id
        self.port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(chain_id)]
        if block_time_s is not None:
            self.args += ["--block-time", str(block_time_s)]
        if gas_limit is not None:
            self.args += ["--gas-limit", str(gas_limit)]
        if zero_gas:
            self.args += ["--base-fee", "0", "--gas-price", "0", "--disable-min-priority-fee"]
        if mnemonic is not None:
            self.args += ["--mnemonic", mnemonic]
        if accounts is not None:
            self.args += ["--accounts", str(accounts)]
        if hardfork is not None:
            self.args += ["--hardfork", hardfork]
        if no_request_size_limit:
            self.args.append("--no-request-size-limit")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Starts anvil and returns its URL once `eth_chainId` answers; stops it again if it never does."""
        if not installed():
            raise RuntimeError(f"anvil is not installed: run `npm ci` in {ANVIL_DIR} (scripts/setup.sh does)")
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited with {self.proc.returncode}: {self._log_tail()}")
            try:
                answer = self.rpc("eth_chainId")
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"anvil did not answer within {START_TIMEOUT_S} s: {self._log_tail()}") from None
                time.sleep(0.05)
                continue
            if answer != hex(self.chain_id):
                raise RuntimeError(f"anvil answered chain id {answer}, not {hex(self.chain_id)}")
            return

    def _log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else "(no log)"

    def rpc(self, method: str, *params: object) -> object:
        """One call on a fresh connection (an idle keep-alive one may have been closed by anvil meanwhile)."""
        client = JsonRpcClient(self.url, timeout_s=10)
        try:
            return client.call(method, *params)
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
