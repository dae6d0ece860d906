"""Runs a consortium node: the chain engine wired to the mutual-TLS p2p host.

Every node, validator or observer, runs the network's ConsensusDriver (QBFT and block sync, network/driver.py)
over the host's consensus channel: a validator votes, an observer (not in the validator set) follows the
same messages and syncs finalized blocks, seals checked and re-executed, but never votes. Validators gossip
the txs their clients send; an observer refuses every write. After each block the chain's membership view
is refreshed (a suspended member's sessions close). JSON-RPC is guarded by node/rpc/exposure.py, and
Prometheus /metrics is served when configured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp import web

from network.abc import Timer, TimerKind
from network.driver import ConsensusDriver
from network.p2p.abc import Channel, StaticPeer
from network.p2p.channel import ChannelTransport
from network.p2p.handshake import ChainTag
from network.p2p.host import HostConfig, P2PHost
from network.pki.tls import TlsFiles
from network.qbft import PrivateKeySigner
from node.chain.block import Block
from node.chain.receipt import Receipt
from node.config import NodeConfig
from node.consensus.thread import ConsensusThread
from node.engine.chain_parts import ChainParts
from node.keyfiles import read_key
from node.launch.metrics import NodeMetrics
from node.p2p.membership import ChainMembership
from node.p2p.tx_gossip import TxGossip
from node.proc.heap import freeze_startup_heap
from node.rpc.backend.peer_backends import GossipingBackend, ObserverBackend
from node.rpc.exposure import rpc_guard

log = logging.getLogger("colend.node")


def p2p_host(config: NodeConfig, chain: ChainParts, membership: ChainMembership) -> P2PHost:
    p2p = config.p2p
    assert p2p is not None
    tls = TlsFiles(config.path(p2p.tls_cert), config.path(p2p.tls_key), config.path(p2p.tls_ca),
                   config.path(p2p.tls_crl) if p2p.tls_crl else None)
    genesis_hash = chain.store.hash_by_number(0)
    assert genesis_hash is not None
    peers = tuple(StaticPeer(p.url, p.member, bytes.fromhex(p.address[2:])) for p in p2p.peers)
    signer = PrivateKeySigner(read_key(config.path(config.validator_key)))
    return P2PHost(HostConfig(p2p.host, p2p.port, peers), tls, signer,
                   ChainTag(chain.genesis.chain_id, genesis_hash), membership)


def _count_round_changes(driver: ConsensusDriver, metrics: NodeMetrics) -> None:
    """Wraps the driver's timer input: a round timer that moves the core to a higher round is a round change."""
    on_timer = driver.on_timer

    def counted(timer: Timer) -> None:
        core = driver.core
        before = (core.height, core.round) if core is not None and timer.kind is TimerKind.ROUND else None
        on_timer(timer)
        core = driver.core
        if before is not None and core is not None and core.height == before[0] and core.round > before[1]:
            metrics.round_changes.inc()
            log.info("event=round_change height=%d round=%d", core.height, core.round)

    driver.on_timer = counted  # type: ignore[method-assign]


async def run_consortium_node(config: NodeConfig) -> int:
    from node.launch.lone import consensus_driver, open_engine, run_until_stopped, start_consensus
    from node.rpc.server import bound_port, serve

    guard = rpc_guard(config)  # before anything opens: an exposed RPC without auth never starts
    chain = open_engine(config)
    engine = chain.engine
    membership = ChainMembership(chain.read_view)
    host = p2p_host(config, chain, membership)
    gossip = TxGossip(chain.front, host, pool=config.role != "observer")
    thread = ConsensusThread()
    driver = consensus_driver(config, chain, thread, ChannelTransport(host, Channel.CONSENSUS))
    status = {"role": config.role, "member": config.member_id, "peers": lambda: len(host.peers()),
              "round": lambda: driver.core.round if driver.core is not None else 0}
    metrics = NodeMetrics(height=lambda: engine.head.number, round_=status["round"], peers=lambda: len(host.peers()),
                          pool_size=lambda: len(chain.front))
    engine.validate_block = metrics.timed_execution(engine.validate_block)  # type: ignore[method-assign]
    chain.producer.propose = metrics.timed_execution(chain.producer.propose)  # type: ignore[method-assign]
    _count_round_changes(driver, metrics)
    backend: GossipingBackend | ObserverBackend
    if config.role == "observer":
        backend = ObserverBackend(chain, node_id=config.node_id, extra_status=status)
    else:
        backend = GossipingBackend(chain, node_id=config.node_id, gossip=gossip, extra_status=status)
    engine.on_block(_after_block(membership, host, gossip, metrics))
    await host.start()
    rpc = await serve(backend, config.rpc_host, config.rpc_port, middlewares=guard.middlewares,
                      ssl_context=guard.ssl_context)
    metrics_runner: web.AppRunner | None = None
    if config.metrics_port:
        metrics_runner = await metrics.serve(config.rpc_host, config.metrics_port)
    stop, consensus = await start_consensus(thread, driver, chain)
    freeze_startup_heap()  # node/proc/heap.py
    log.info("event=node_started node_id=%s chain_id=%d head=%d state=0x%s rpc=%s:%d role=%s member=%s p2p=%d",
             config.node_id, chain.genesis.chain_id, engine.head.number, engine.head.state_root.hex(),
             config.rpc_host, bound_port(rpc), config.role, config.member_id, host.port)
    failed = await run_until_stopped(engine, thread, consensus, stop)
    await host.stop()
    await rpc.cleanup()
    if metrics_runner is not None:
        await metrics_runner.cleanup()
    chain.front.durable()  # the journal's last records (txs that left the pool) before the store closes
    engine.close()
    chain.store.close()
    log.info("event=node_stopped head=%d", engine.head.number)
    return 2 if engine.halted or failed else 0


def _after_block(membership: ChainMembership, host: P2PHost, gossip: TxGossip,
                 metrics: NodeMetrics) -> Callable[[Block, list[Receipt]], None]:
    def after(block: Block, _receipts: list[Receipt]) -> None:
        now = time.monotonic()
        for tx in block.txs:
            submitted = gossip.submitted_at.pop(tx.hash, None)
            if submitted is not None:
                metrics.finality.observe(now - submitted)
        if membership.refresh():
            log.info("event=membership_changed height=%d members=%d", block.number, len(membership.members))
            host.recheck()

    return after
