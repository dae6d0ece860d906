"""Runs a consortium node: the chain engine wired to the mutual-TLS p2p host.

A validator runs the QBFT driver over the host's consensus channel, gossips the txs its clients send and
pushes each finalized block to the followers among its peers; an observer never votes, refuses writes and
follows finalized blocks (node/block_follow.py, until issue 8's sync replaces it). Both answer block range
requests, refresh the chain's membership view after each block (a suspended member's sessions close),
and serve JSON-RPC and, when configured, Prometheus /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable

from aiohttp import web

from network.p2p.abc import Channel, StaticPeer
from network.p2p.channel import ChannelTransport
from network.p2p.handshake import ChainTag
from network.p2p.host import HostConfig, P2PHost
from network.pki.tls import TlsFiles
from network.qbft import PrivateKeySigner
from node.block_follow import BlockFollower, BlockServer
from node.chain.block import Block
from node.chain.receipt import Receipt
from node.chain_membership import ChainMembership
from node.config import NodeConfig
from node.consensus_driver import ConsensusDriver
from node.consensus_runner import ConsensusRunner
from node.consortium_backend import GossipingBackend, ObserverBackend
from node.engine import ChainEngine
from node.keyfiles import read_key
from node.node_metrics import NodeMetrics
from node.tx_gossip import TxGossip

log = logging.getLogger("colend.node")
POLL_S = 0.5


def p2p_host(config: NodeConfig, engine: ChainEngine, membership: ChainMembership) -> P2PHost:
    p2p = config.p2p
    assert p2p is not None
    tls = TlsFiles(config.path(p2p.tls_cert), config.path(p2p.tls_key), config.path(p2p.tls_ca),
                   config.path(p2p.tls_crl) if p2p.tls_crl else None)
    genesis_hash = engine.store.hash_by_number(0)
    assert genesis_hash is not None
    peers = tuple(StaticPeer(p.url, p.member, bytes.fromhex(p.address[2:])) for p in p2p.peers)
    signer = PrivateKeySigner(read_key(config.path(config.validator_key)))
    return P2PHost(HostConfig(p2p.host, p2p.port, peers), tls, signer,
                   ChainTag(engine.genesis.chain_id, genesis_hash), membership)


def _count_round_changes(driver: ConsensusDriver, metrics: NodeMetrics) -> None:
    """Wraps the driver's timeout input: a timeout that moves the core to a higher round is a round change."""
    on_timeout = driver.on_timeout

    def counted(height: int, round_: int) -> None:
        core = driver.core
        before = (core.height, core.round) if core is not None else None
        on_timeout(height, round_)
        core = driver.core
        if core is not None and before is not None and core.height == before[0] and core.round > before[1]:
            metrics.round_changes.inc()
            log.info("event=round_change height=%d round=%d", core.height, core.round)

    driver.on_timeout = counted  # type: ignore[method-assign]


async def run_consortium_node(config: NodeConfig) -> int:
    from node.rpc.server import bound_port, serve
    from node.service import consensus_driver, open_engine

    engine = open_engine(config)
    membership = ChainMembership(engine)
    host = p2p_host(config, engine, membership)
    observer = config.role == "observer"
    gossip = TxGossip(engine, host)
    server = BlockServer(engine, host, push_to=lambda: [
        p.address for p in host.peers() if p.address not in engine.validators_for(engine.head.number + 1)])
    runner: ConsensusRunner | None = None
    driver: ConsensusDriver | None = None
    follower: BlockFollower | None = None
    status = {"role": config.role, "member": config.member_id, "peers": lambda: len(host.peers()),
              "round": lambda: driver.core.round if driver is not None and driver.core is not None else 0}
    metrics = NodeMetrics(height=lambda: engine.head.number, round_=status["round"], peers=lambda: len(host.peers()),
                          pool_size=lambda: len(engine.pool))
    engine.validate_block = metrics.timed_execution(engine.validate_block)  # type: ignore[method-assign]
    engine.propose = metrics.timed_execution(engine.propose)  # type: ignore[method-assign]
    backend: GossipingBackend | ObserverBackend
    if observer:
        backend = ObserverBackend(engine, node_id=config.node_id, extra_status=status)
        follower = BlockFollower(engine, host, server)
    else:
        backend = GossipingBackend(engine, node_id=config.node_id, gossip=gossip, extra_status=status)
        host.on_message(Channel.SYNC, server.on_frame)
        runner = ConsensusRunner()
        driver = consensus_driver(config, engine, runner, ChannelTransport(host, Channel.CONSENSUS))
        _count_round_changes(driver, metrics)
        engine.on_block(server.pushed)
    engine.on_block(_after_block(membership, host, gossip, metrics))
    await host.start()
    rpc = await serve(backend, config.rpc_host, config.rpc_port)
    metrics_runner: web.AppRunner | None = None
    if config.metrics_port:
        metrics_runner = await metrics.serve(config.rpc_host, config.metrics_port)
    if runner is not None and driver is not None:
        await runner.start(driver)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    consensus = asyncio.create_task(runner.run() if runner is not None else stop.wait())
    log.info("event=node_started node_id=%s chain_id=%d head=%d state=0x%s rpc=%s:%d role=%s member=%s p2p=%d",
             config.node_id, engine.genesis.chain_id, engine.head.number, engine.head.state_root.hex(),
             config.rpc_host, bound_port(rpc), config.role, config.member_id, host.port)
    failed = False
    stopping = asyncio.create_task(stop.wait())
    while not stop.is_set() and not consensus.done():
        await asyncio.wait({stopping, consensus}, timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
        if follower is not None:
            follower.poll()
        if engine.halted:
            log.critical("event=node_halted reason=%s", engine.halted)
            break
    stopping.cancel()
    if runner is not None:
        runner.stop()
    try:
        await consensus
    except Exception:
        failed = True
        log.critical("event=consensus_failed", exc_info=True)
    if follower is not None:
        follower.close()
    await host.stop()
    await rpc.cleanup()
    if metrics_runner is not None:
        await metrics_runner.cleanup()
    engine.store.close()
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
