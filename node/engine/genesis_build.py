"""Creating a new chain's genesis: member account keys written 0600, the suite deployed once to pin addresses.

Shared by `colend init` (one node) and `colend consortium init` (a node per bank), so both create chains
the same way.
"""

from __future__ import annotations

import time
from pathlib import Path

from network.qbft import PrivateKeySigner
from node.chain.genesis import Genesis, GenesisMember
from node.chain.header import ZERO_ADDRESS
from node.engine.chain_setup import deploy_colend_suite
from node.execution.abc import BlockContext
from node.execution.evm import EvmExecutor
from node.keyfiles import new_private_key, write_key


def new_member(bank_id: str, role: str, key_path: Path) -> GenesisMember:
    """A member with one fresh account whose key is written to `key_path` (0600)."""
    key = new_private_key()
    write_key(key_path, key)
    return member_of(bank_id, role, key)


def member_of(bank_id: str, role: str, account_key: bytes) -> GenesisMember:
    """A member whose one account is this key's: a bank keeps one account in every group it is in."""
    return GenesisMember(bank_id, bank_id.title(), role, (PrivateKeySigner(account_key).address,))


def new_genesis(chain_id: int, validators: tuple[bytes, ...], members: tuple[GenesisMember, ...]) -> Genesis:
    genesis = Genesis(chain_id=chain_id, timestamp_ms=time.time_ns() // 1_000_000, validators=validators,
                      members=members)
    return genesis.with_contracts(genesis_contracts(genesis))


def genesis_contracts(genesis: Genesis) -> dict[str, bytes]:
    """Run the genesis deployment once to learn (and pin) the suite's addresses."""
    executor = EvmExecutor(genesis.chain_id, genesis.block_gas_limit, None)
    executor.set_context(BlockContext(0, genesis.timestamp_ms // 1000, ZERO_ADDRESS, genesis.block_gas_limit))
    return deploy_colend_suite(executor.evm, genesis)
