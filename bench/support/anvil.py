"""anvil, Foundry's Ethereum dev node, as the yardstick for bench.node: installed from the npm package pinned in
bench/package.json (`npm ci` in bench/, the benchmarks' own set-up, never the tests'), started on loopback with
the same chain id, block period and gas limit as the Colend node, and seeded with Colend's genesis state so
that the very same signed transactions run on both."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.support.discover import BENCH_DIR
from colend.ports import free_loopback_port
from node.chain.genesis import Genesis, deploy_colend_suite
from node.chain.header import ZERO_ADDRESS
from node.execution.executor import BlockContext, BlockExecution, EvmExecutor
from node.rpc.client import JsonRpcClient

ANVIL_BIN = BENCH_DIR / "node_modules" / ".bin" / "anvil"
START_TIMEOUT_S = 30.0


def installed() -> bool:
    return ANVIL_BIN.exists()


def install() -> None:
    """`npm ci` in bench/: the lockfile pins anvil's exact build."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed; anvil comes from the npm package in bench/package.json")
    print("bench: installing anvil (npm ci in bench/)", file=sys.stderr, flush=True)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BENCH_DIR, check=True, stdout=sys.stderr)


def version() -> str:
    out = subprocess.run([str(ANVIL_BIN), "--version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0].strip() if out else "unknown"


class Anvil:
    """One anvil process on a free loopback port; zero base fee and gas price, as Colend prices gas."""

    def __init__(self, genesis: Genesis, block_period_ms: int, log_path: Path) -> None:
        self.port = free_loopback_port()
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(genesis.chain_id),
             "--block-time", str(block_period_ms / 1000), "--gas-limit", str(genesis.block_gas_limit),
             "--base-fee", "0", "--gas-price", "0", "--disable-min-priority-fee", "--accounts", "0",
             "--no-request-size-limit", "--hardfork", "shanghai"],
            stdout=self._log, stderr=subprocess.STDOUT)  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_ready()
        self.seed(genesis)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                JsonRpcClient(self.port, timeout_s=5).call("eth_chainId")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"anvil did not start (exit {self.proc.poll()}), see {self._log.name}") from None
                time.sleep(0.05)

    def seed(self, genesis: Genesis) -> None:
        """Colend's block-0 state (accounts, code, every storage slot), written into anvil slot by slot."""
        executor = EvmExecutor(genesis.chain_id, genesis.block_gas_limit, None)
        executor.set_context(BlockContext(0, genesis.timestamp_ms // 1000, ZERO_ADDRESS, genesis.block_gas_limit))
        contracts = deploy_colend_suite(executor.evm, genesis)
        if contracts != genesis.contracts:
            raise RuntimeError("re-running the genesis deployment gave other addresses than the genesis document")
        state = BlockExecution()
        executor.collect_touched(state, set(), from_empty=True)
        calls: list[tuple[str, list]] = []
        for address, account in state.accounts.items():
            hexaddr = "0x" + address.hex()
            code = executor.code(address)
            if code:
                calls.append(("anvil_setCode", [hexaddr, "0x" + code.hex()]))
            calls.append(("anvil_setNonce", [hexaddr, hex(account.nonce)]))
        for (address, slot), (_before, value) in state.slot_changes.items():
            calls.append(("anvil_setStorageAt", ["0x" + address.hex(), "0x" + slot.to_bytes(32, "big").hex(),
                                                 "0x" + value.to_bytes(32, "big").hex()]))
        client = JsonRpcClient(self.port)
        for start in range(0, len(calls), 500):
            for reply in client.batch(calls[start : start + 500]):
                if "error" in reply:
                    raise RuntimeError(f"anvil refused the genesis state: {reply['error']}")
        client.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
