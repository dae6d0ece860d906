"""Opening a chain: settle which genesis the data directory holds, deploy the suite and write block 0 on first
start, and load the durable head state, checking it against the head's state commitment."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pyrevm
from eth_utils import to_checksum_address

from node.chain.block import Block
from node.chain.commitment import StateCommitment
from node.chain.genesis import Genesis
from node.chain.header import ZERO_ADDRESS, ZERO_HASH, BlockHeader
from node.chain.roots import EMPTY_TRIE_ROOT
from node.chain.state import AccountRecord, diff_from_changes
from node.errors import StateCommitmentMismatch, StoreCorrupted
from node.execution.abc import BlockContext, BlockExecution
from node.execution.evm import EvmExecutor
from node.store.chain_store import ChainStore

log = logging.getLogger("colend.engine")
_EMPTY = AccountRecord()


def settle_genesis(store: ChainStore, genesis: Genesis) -> Genesis:
    """The genesis this store was created with, if any; refuses a document for another chain."""
    stored = store.genesis_doc()
    if stored is None:
        return genesis
    persisted = Genesis.from_json(json.loads(stored))
    if (genesis.contracts and genesis.contracts != persisted.contracts) or genesis.chain_id != persisted.chain_id:
        raise StoreCorrupted("the data directory holds a different chain than this genesis document")
    return persisted


# (evm, genesis) -> deployed contract addresses by name; "Consortium" enables permissioning.
DeployFn = Callable[[pyrevm.EVM, Genesis], dict[str, bytes]]


def deploy_colend_suite(evm: pyrevm.EVM, genesis: Genesis) -> dict[str, bytes]:
    """The production genesis: Consortium, Clearing and CoLending from contracts.suite."""
    from contracts.suite import MemberSpec, deploy_suite

    members = [MemberSpec(m.bank_id, m.name, m.role, tuple(to_checksum_address(a) for a in m.accounts))  # type: ignore[arg-type]
               for m in genesis.members]
    addresses = deploy_suite(evm, to_checksum_address(genesis.deployer), members,
                             [to_checksum_address(v) for v in genesis.validators], genesis.min_servicer_share_bps)
    return {name: bytes.fromhex(a[2:]) for name, a in addresses.as_dict().items()}


def commit_genesis(store: ChainStore, executor: EvmExecutor, genesis: Genesis, deploy: DeployFn) -> Genesis:
    """Deploy the suite into `executor`'s EVM and commit block 0; returns the genesis with its contract addresses."""
    executor.set_context(BlockContext(0, genesis.timestamp_ms // 1000, ZERO_ADDRESS, genesis.block_gas_limit))
    contracts = deploy(executor.evm, genesis)
    if genesis.contracts and genesis.contracts != contracts:
        raise StoreCorrupted("genesis deployment produced other contract addresses than the document pins")
    genesis = genesis.with_contracts(contracts)
    out = BlockExecution()
    executor.collect_touched(out, set(), from_empty=True)
    diff = diff_from_changes(out.accounts, out.slot_changes, out.codes, lambda _a: _EMPTY)
    root = StateCommitment(diff.accounts.items()).root()
    header = BlockHeader(0, ZERO_HASH, genesis.timestamp_ms, ZERO_ADDRESS, EMPTY_TRIE_ROOT, EMPTY_TRIE_ROOT, root,
                         genesis.block_gas_limit, 0, genesis.digest())
    store.commit_block(Block(header, ()), [], diff, genesis_doc=json.dumps(genesis.to_json(), indent=2).encode())
    log.info("event=genesis_committed hash=0x%s state=0x%s", header.hash().hex(), root.hex())
    return genesis


@dataclass
class HeadState:
    header: BlockHeader
    hash: bytes
    accounts: dict[bytes, AccountRecord]
    commitment: StateCommitment


def load_head(store: ChainStore) -> HeadState:
    """The durable head and its accounts; raises unless they hash to the head's state commitment."""
    head = store.head()
    if head is None:
        raise StoreCorrupted("no head block")
    found = store.header_and_hashes(head[1])
    if found is None:
        raise StoreCorrupted(f"head block 0x{head[1].hex()} is not stored")
    header = found[0]
    accounts = dict(store.accounts())
    commitment = StateCommitment(accounts.items())
    if commitment.root() != header.state_root:
        raise StateCommitmentMismatch(
            f"stored state does not match head {header.number}: 0x{commitment.root().hex()} != "
            f"0x{header.state_root.hex()}")
    return HeadState(header, head[1], accounts, commitment)
