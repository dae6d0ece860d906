"""Colend's genesis state written into a running anvil, so that bench.node sends the very same signed
transactions to both nodes (same contract addresses, members and nonces)."""

from __future__ import annotations

from node.chain.genesis import Genesis
from node.chain.header import ZERO_ADDRESS
from node.engine.chain_setup import deploy_colend_suite
from node.execution.abc import BlockContext, BlockExecution
from node.execution.evm import EvmExecutor
from node.rpc.client import Call, JsonRpcClient

BATCH = 500


def seed_genesis(url: str, genesis: Genesis) -> None:
    """Block 0's accounts, code and every storage slot, through anvil_setCode/setNonce/setStorageAt."""
    executor = EvmExecutor(genesis.chain_id, genesis.block_gas_limit, None)
    executor.set_context(BlockContext(0, genesis.timestamp_ms // 1000, ZERO_ADDRESS, genesis.block_gas_limit))
    contracts = deploy_colend_suite(executor.evm, genesis)
    if contracts != genesis.contracts:
        raise RuntimeError("re-running the genesis deployment gave other addresses than the genesis document")
    state = BlockExecution()
    executor.collect_touched(state, set(), from_empty=True)
    calls: list[Call] = []
    for address, account in state.accounts.items():
        hexaddr = "0x" + address.hex()
        code = executor.code(address)
        if code:
            calls.append(("anvil_setCode", [hexaddr, "0x" + code.hex()]))
        calls.append(("anvil_setNonce", [hexaddr, hex(account.nonce)]))
    for (address, slot), (_before, value) in state.slot_changes.items():
        calls.append(("anvil_setStorageAt", ["0x" + address.hex(), "0x" + slot.to_bytes(32, "big").hex(),
                                             "0x" + value.to_bytes(32, "big").hex()]))
    client = JsonRpcClient(url)
    try:
        for start in range(0, len(calls), BATCH):
            for reply in client.batch(calls[start : start + BATCH]):
                if "error" in reply:
                    raise RuntimeError(f"anvil refused the genesis state: {reply['error']}")
    finally:
        client.close()
