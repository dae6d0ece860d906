"""Runs one node process, lone or peered: start its parts, serve until SIGTERM/SIGINT, stop them in order.

The one start-up and shutdown sequence; what a peered node adds (node/launch/peering.py) is one optional
part it starts first and stops first. Started: the p2p host, JSON-RPC, Prometheus /metrics when configured,
then consensus. Stopped: the host, RPC, metrics, the worker processes, the pool journal's last records, the
executor and the store.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import replace

from aiohttp import web

from network.driver import ConsensusDriver
from network.errors import ChainHalted
from node.config import NodeConfig
from node.consensus.thread import ConsensusThread
from node.engine.chain_engine import ChainEngine
from node.engine.chain_parts import ChainParts
from node.errors import GroupsUnsupported
from node.launch.parts import node_parts
from node.proc.heap import freeze_startup_heap
from node.rpc.exposure import rpc_guard
from node.rpc.server import bound_port, serve

log = logging.getLogger("colend.node")
SUPERVISE_POLL_S = 0.5  # how often a running node looks for a halt


async def run_node(config: NodeConfig) -> int:
    """The node's exit code: 0 after a clean stop, 2 if it halted or consensus failed."""
    config = sole_group(config)
    guard = rpc_guard(config)  # before anything opens: an RPC exposed beyond loopback without auth never starts
    parts = node_parts(config)
    chain, peering = parts.chain, parts.peering
    engine = chain.engine
    if peering is not None:
        await peering.start()
    rpc = await serve(parts.backend, config.rpc_host, config.rpc_port, middlewares=guard.middlewares,
                      ssl_context=guard.ssl_context)
    metrics_runner: web.AppRunner | None = None
    if parts.metrics is not None and config.metrics_port:
        metrics_runner = await parts.metrics.serve(config.rpc_host, config.metrics_port)
    stop, consensus = await start_consensus(parts.thread, parts.driver, chain)
    freeze_startup_heap()  # node/proc/heap.py
    # Logged only once a SIGTERM would be handled: whoever waits for this line may stop the node cleanly at once.
    log.info("event=node_started node_id=%s chain_id=%d head=%d state=0x%s rpc=%s:%d%s", config.node_id,
             chain.genesis.chain_id, engine.head.number, engine.head.state_root.hex(), config.rpc_host,
             bound_port(rpc), peering.started_fields() if peering is not None else "")
    failed = await run_until_stopped(engine, parts.thread, consensus, stop)
    if peering is not None:
        await peering.stop()
    await rpc.cleanup()
    if metrics_runner is not None:
        await metrics_runner.cleanup()
    if chain.front.workers is not None:
        chain.front.workers.close()
    chain.front.durable()  # the journal's last records (txs that left the pool) before the store closes
    engine.close()
    chain.store.close()
    log.info("event=node_stopped head=%d", engine.head.number)
    return 2 if engine.halted or failed else 0


def sole_group(config: NodeConfig) -> NodeConfig:
    """The config of the one group the node holds, as [node] genesis and data_dir; several are refused until
    the launch sequence runs one chain per group."""
    if len(config.groups) > 1:
        raise GroupsUnsupported(f"the config names {len(config.groups)} ledger groups "
                                f"({', '.join(g.name for g in config.groups)}); this node runs one group only")
    group = config.groups[0]
    return replace(config, genesis=group.genesis, data_dir=group.data_dir)


async def start_consensus(thread: ConsensusThread, driver: ConsensusDriver,
                          chain: ChainParts) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """Starts the consensus thread and turns SIGINT/SIGTERM into a stop event."""
    await thread.start(driver, chain.front)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop, asyncio.create_task(thread.run())


async def run_until_stopped(engine: ChainEngine, thread: ConsensusThread, consensus: asyncio.Task[None],
                            stop: asyncio.Event) -> bool:
    """Serves until a stop signal, a halt or the end of consensus, then stops consensus; True if it failed."""
    failed = False
    stopping = asyncio.create_task(stop.wait())
    while not stop.is_set() and not consensus.done():
        await asyncio.wait({stopping, consensus}, timeout=SUPERVISE_POLL_S, return_when=asyncio.FIRST_COMPLETED)
        if engine.halted:
            log.critical("event=node_halted reason=%s", engine.halted)
            break
    stopping.cancel()
    thread.stop()
    try:
        await consensus
    except ChainHalted:
        failed = True
        log.critical("event=node_halted reason=state_commitment_mismatch", exc_info=True)
    except Exception:
        failed = True
        log.critical("event=consensus_failed", exc_info=True)
    return failed
