"""The parts of one node process, built from its config for the launch sequence (node/launch/sequence.py).

A node holds one or more ledger groups (node/config.py `groups`); each is a whole stack of its own: a chain
(node/engine/chain_parts.py) on its own store folder, a consensus driver on it (through
node/consensus/chain_adapter.py) run by its own consensus thread, and a JSON-RPC backend. A peered node (`[p2p]` in
its config) adds one peering (node/launch/peering.py), shared by every group: the p2p host that carries each
group's frames to that group's members only, each driver's transport, the backends that gossip or refuse writes,
and metrics labelled by group, fed by the hooks of the chain adapters, the drivers and the engines. A lone node's
driver has a loopback transport.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from network.abc import Transport
from network.driver import ConsensusDriver, DriverConfig
from network.qbft import PrivateKeySigner
from network.transport import LoopbackTransport
from node.chain.genesis import Genesis
from node.config import GroupConfig, NodeConfig
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
class GroupParts:
    """One ledger group's stack on this node."""

    name: str
    chain: ChainParts
    thread: ConsensusThread
    driver: ConsensusDriver
    backend: EngineBackend


@dataclass(frozen=True)
class NodeParts:
    groups: tuple[GroupParts, ...]  # in the config's order; the first is the default group, served at "/"
    peering: Peering | None  # None: a lone node
    metrics: NodeMetrics | None  # a peered node's
    signer: PrivateKeySigner  # the node's validator key, the same in every group


def open_group_chain(config: NodeConfig, group: GroupConfig) -> ChainParts:
    """One group's chain, opened on its own data directory from its own genesis."""
    genesis = Genesis.from_json(json.loads(config.path(group.genesis).read_text()))
    data_dir = config.path(group.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = ChainStore(str(data_dir / "chain"))
    return open_chain(store, genesis, pool_limits=config.pool, max_tx_bytes=config.max_tx_bytes,
                      execution_process=config.execution_process, execution_niceness=config.execution_niceness)


def open_node_chain(config: NodeConfig) -> ChainParts:
    """The chain of the node's default (first) group."""
    return open_group_chain(config, config.groups[0])


def node_parts(config: NodeConfig) -> NodeParts:
    """Opens every group's chain and builds the rest on them; nothing listens or runs until the sequence starts it."""
    signer = PrivateKeySigner(read_key(config.path(config.validator_key)))  # a bad key refuses before any opening
    chains: list[tuple[GroupConfig, ChainParts]] = []
    try:
        for group in config.groups:
            chains.append((group, open_group_chain(config, group)))
    except BaseException:
        close_chains([chain for _, chain in chains])  # a group that cannot open stops the start, leaving none open
        raise
    peering = open_peering(config, [(group.name, chain) for group, chain in chains], signer)
    metrics = NodeMetrics() if peering is not None else None
    groups = tuple(group_parts(config, group, chain, signer, peering, metrics) for group, chain in chains)
    if peering is None and config.recover_senders_in_workers:  # a peered node has never started them
        first = groups[0].chain
        first.front.workers = WorkerPool(first.limits, preload=("node.rpc.prepare",))
    return NodeParts(groups, peering, metrics, signer)


def added_group_parts(config: NodeConfig, group: GroupConfig, parts: NodeParts) -> GroupParts:
    """A group the config names since the node started: its chain opened, put on the host (a peered node), its
    stack built as at start-up. Blocking (the store opens, the suite may deploy): run it off the event loop."""
    chain = open_group_chain(config, group)
    try:
        if parts.peering is not None:
            parts.peering.add_group(group.name, chain)
        return group_parts(config, group, chain, parts.signer, parts.peering, parts.metrics)
    except BaseException:
        close_chains([chain])
        raise


def group_parts(config: NodeConfig, group: GroupConfig, chain: ChainParts, signer: PrivateKeySigner,
                 peering: Peering | None, metrics: NodeMetrics | None) -> GroupParts:
    thread = ConsensusThread(group.name)
    transport = peering.transport(group.name) if peering is not None else LoopbackTransport()
    adapter, driver = consensus_driver(config, group, chain, thread, signer, transport)
    engine = chain.engine
    if peering is None or metrics is None:
        validators = len(engine.validators_for(engine.head.number + 1))
        if validators > 1:
            log.warning("event=consensus_without_peers group=%s validators=%d: this node has no p2p transport, so "
                        "it cannot finalize blocks on its own", group.name, validators)
        return GroupParts(group.name, chain, thread, driver, EngineBackend(chain, node_id=config.node_id))
    series = metrics.group(group.name, height=lambda: engine.head.number, round_=lambda: core_round(driver),
                           peers=lambda: peering.peer_count(group.name), pool_size=lambda: len(chain.front),
                           lag=driver.sync.lag)
    adapter.execution_observers.append(series.block_execution.observe)
    driver.round_change_observers.append(series.round_changed)
    backend = peering.backend(group.name, chain, lambda: core_round(driver))
    peering.follow(group.name, engine, series)
    return GroupParts(group.name, chain, thread, driver, backend)


def consensus_driver(config: NodeConfig, group: GroupConfig, chain: ChainParts, thread: ConsensusThread,
                     signer: PrivateKeySigner, transport: Transport) -> tuple[EngineChain, ConsensusDriver]:
    """The network's driver on one group's engine (through the chain adapter, returned too for its hooks); on a
    loopback transport it is a lone validator (n = 1). Its resume file lives in the group's data directory."""
    clock = WallClock()
    adapter = EngineChain(chain, signer.address, config.max_txs_per_block, config.max_block_gas or None,
                          NextBlockPolicy(clock, config.block_period_ms))
    return adapter, ConsensusDriver(
        adapter, signer, NodeBlockCodec(), transport, thread, ResumeFile(config.path(group.data_dir) / RESUME_FILE),
        clock, DriverConfig(period_ms=config.block_period_ms, allow_empty=config.allow_empty_blocks))


def close_chains(chains: list[ChainParts]) -> None:
    """Stop each chain's workers, write its journal's last records, stop its executor and close its store."""
    for chain in chains:
        if chain.front.workers is not None:
            chain.front.workers.close()
        chain.front.durable()  # the journal's last records (txs that left the pool) before the store closes
        chain.engine.close()
        chain.store.close()


def core_round(driver: ConsensusDriver) -> int:
    """The round the core is at, 0 before it starts."""
    return driver.core.round if driver.core is not None else 0
