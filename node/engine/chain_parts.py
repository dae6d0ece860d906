"""One chain's parts, built and wired on a store: what a node (or a test) opens, and hands each part the others it needs.

open_chain settles the genesis, deploys the suite and commits block 0 into an empty store (node/engine/chain_setup.py,
in an in-process EVM of its own, whatever executes the blocks), then builds the executor, the read view, the pool
front, the engine and block production, loads the head state and re-admits the pool journal's txs. Callers take
the parts they use from ChainParts, never through the engine: the RPC backend the store, the read view and the
front; consensus the engine, block production and the front; tx gossip the front; membership the read view.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.chain.genesis import Genesis
from node.defaults import DEFAULT_MAX_TX_BYTES, EXECUTION_NICENESS
from node.engine.chain_engine import ChainEngine
from node.engine.chain_setup import DeployFn, commit_genesis, deploy_colend_suite, settle_genesis
from node.engine.production import BlockProducer
from node.execution.abc import Executor
from node.execution.evm import EvmExecutor
from node.execution.process import ExecutionProcess
from node.execution.read_view import CommittedState
from node.store.chain_store import ChainStore
from node.tx.decode import DecodeLimits
from node.txpool.admission import PoolLimits
from node.txpool.front import PoolFront
from node.txpool.journal import PoolJournal


@dataclass(frozen=True, slots=True)
class ChainParts:
    store: ChainStore
    genesis: Genesis  # as the store holds it, with the suite's contract addresses
    limits: DecodeLimits
    executor: Executor
    read_view: CommittedState  # the last committed state, for every read
    front: PoolFront  # the pool and its admission
    engine: ChainEngine  # validation, import and commit
    producer: BlockProducer  # this node's next block


def open_chain(store: ChainStore, genesis: Genesis, *, pool_limits: PoolLimits | None = None,
               max_tx_bytes: int = DEFAULT_MAX_TX_BYTES, deploy: DeployFn = deploy_colend_suite,
               execution_process: bool = False, execution_niceness: int = EXECUTION_NICENESS) -> ChainParts:
    """`execution_process`: execute blocks in a child process (node/execution/process.py), as a running node does,
    at `execution_niceness` above the node's (node/defaults.py); in-process otherwise (tests, tools)."""
    genesis = settle_genesis(store, genesis)
    limits = DecodeLimits(genesis.chain_id, genesis.block_gas_limit, max_tx_bytes)
    store.limits = limits
    if store.head() is None:
        deployer = EvmExecutor(genesis.chain_id, genesis.block_gas_limit, None)
        genesis = commit_genesis(store, deployer, genesis, deploy)
    consortium = genesis.contracts.get("Consortium")
    executor: Executor = (
        ExecutionProcess(genesis.chain_id, genesis.block_gas_limit, consortium, execution_niceness)
        if execution_process
        else EvmExecutor(genesis.chain_id, genesis.block_gas_limit, consortium))
    read_view = CommittedState(genesis.chain_id, genesis.block_gas_limit, consortium)
    front = PoolFront(read_view, limits, pool_limits, PoolJournal(store))
    engine = ChainEngine(store, genesis, executor, read_view, front)
    producer = BlockProducer(engine, executor, front, read_view)
    front.restore()  # the txs acknowledged before a crash or stop, re-checked against the head
    return ChainParts(store, genesis, limits, executor, read_view, front, engine, producer)
