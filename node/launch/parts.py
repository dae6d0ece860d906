"""The parts of one node process, built from its config for the launch sequence (node/launch/sequence.py).

Every node has a chain (node/engine/chain_parts.py), a consensus driver on it (through
node/consensus/chain_adapter.py) run by the consensus thread, and a JSON-RPC backend. A peered node (`[p2p]` in
its config) adds its peering (node/launch/peering.py): the driver's transport, the backend that gossips or
refuses writes, and metrics fed by the hooks of the chain adapter, the driver and the engine. A lone node's
driver has a loopback transport.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from network.driver import ConsensusDriver, DriverConfig
from network.qbft import PrivateKeySigner
from network.transport import LoopbackTransport
from node.chain.genesis import Genesis
from node.config import NodeConfig
from node.consensus.block_codec import NodeBlockCodec
from node.consensus.chain_adapter import EngineChain, NextBlockPolicy
from node.consensus.clock import WallClock
from node.consensus.resume_file import ResumeFile
from node.consensus.thread import ConsensusThread
from node.engine.chain_parts import ChainParts, open_chain
from node.keyfiles import read_key
from node.launch.metrics import NodeMetrics
from node.launch.peering import Peering, open_peering
from node.proc.workers import WorkerPool
from node.rpc.backend.engine_backend import EngineBackend
from node.store.chain_store import ChainStore

log = logging.getLogger("colend.node")
RESUME_FILE = "consensus.resume"


@dataclass(frozen=True)
class NodeParts:
    chain: ChainParts
    thread: ConsensusThread
    driver: ConsensusDriver
    backend: EngineBackend
    peering: Peering | None  # None: a lone node
    metrics: NodeMetrics | None  # a peered node's


def open_node_chain(config: NodeConfig) -> ChainParts:
    """The chain this node's config names, opened on its data directory."""
    genesis = Genesis.from_json(json.loads(config.path(config.genesis).read_text()))
    data_dir = config.path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = ChainStore(str(data_dir / "chain"))
    return open_chain(store, genesis, pool_limits=config.pool, max_tx_bytes=config.max_tx_bytes,
                      execution_process=config.execution_process, execution_niceness=config.execution_niceness)


def node_parts(config: NodeConfig) -> NodeParts:
    """Opens the chain and builds the rest on it; nothing listens or runs until the sequence starts it."""
    signer = PrivateKeySigner(read_key(config.path(config.validator_key)))  # a bad key refuses before any opening
    chain = open_node_chain(config)
    engine = chain.engine
    peering = open_peering(config, chain, signer)
    if config.recover_senders_in_workers and peering is None:  # a peered node has never started them
        chain.front.workers = WorkerPool(chain.limits, preload=("node.rpc.prepare",))
    thread = ConsensusThread()
    adapter, driver = consensus_driver(config, chain, thread, signer, peering)
    if peering is None:
        validators = len(engine.validators_for(engine.head.number + 1))
        if validators > 1:
            log.warning("event=consensus_without_peers validators=%d: this node has no p2p transport yet, so it "
                        "cannot finalize blocks on its own", validators)
        return NodeParts(chain, thread, driver, EngineBackend(chain, node_id=config.node_id), None, None)
    metrics = NodeMetrics(height=lambda: engine.head.number, round_=lambda: core_round(driver),
                          peers=peering.peer_count, pool_size=lambda: len(chain.front))
    adapter.execution_observers.append(metrics.block_execution.observe)
    driver.round_change_observers.append(metrics.round_changed)
    backend = peering.backend(chain, lambda: core_round(driver))
    peering.follow(engine, metrics)
    return NodeParts(chain, thread, driver, backend, peering, metrics)


def consensus_driver(config: NodeConfig, chain: ChainParts, thread: ConsensusThread, signer: PrivateKeySigner,
                     peering: Peering | None) -> tuple[EngineChain, ConsensusDriver]:
    """The network's driver on the engine (through the chain adapter, returned too for its hooks); with no
    peering it is a lone validator (n = 1)."""
    clock = WallClock()
    adapter = EngineChain(chain, signer.address, config.max_txs_per_block, config.max_block_gas or None,
                          NextBlockPolicy(clock, config.block_period_ms))
    return adapter, ConsensusDriver(
        adapter, signer, NodeBlockCodec(), peering.transport if peering is not None else LoopbackTransport(), thread,
        ResumeFile(config.path(config.data_dir) / RESUME_FILE), clock,
        DriverConfig(period_ms=config.block_period_ms, allow_empty=config.allow_empty_blocks))


def core_round(driver: ConsensusDriver) -> int:
    """The round the core is at, 0 before it starts."""
    return driver.core.round if driver.core is not None else 0
