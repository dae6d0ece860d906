"""Runs one node process: store, engine, QBFT consensus and the JSON-RPC server until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import json
import logging
import signal

from network.abc import Transport
from network.driver import ConsensusDriver, DriverConfig
from network.errors import ChainHalted
from network.qbft import PrivateKeySigner
from network.transport import LoopbackTransport
from node.chain.genesis import Genesis
from node.config import NodeConfig
from node.consensus.block_codec import NodeBlockCodec
from node.consensus.chain_adapter import EngineChain, NextBlockPolicy
from node.consensus.clock import WallClock
from node.consensus.resume_file import ResumeFile
from node.consensus.thread import ConsensusThread
from node.engine.chain_engine import ChainEngine
from node.engine.chain_parts import ChainParts, open_chain
from node.keyfiles import read_key
from node.proc.heap import freeze_startup_heap
from node.proc.workers import WorkerPool
from node.rpc.backend.engine_backend import EngineBackend
from node.store.chain_store import ChainStore

log = logging.getLogger("colend.node")
RESUME_FILE = "consensus.resume"
SUPERVISE_POLL_S = 0.5  # how often a running node looks for a halt


def open_engine(config: NodeConfig) -> ChainParts:
    """The chain's parts on the configured data directory and genesis (node/engine/chain_parts.py)."""
    genesis = Genesis.from_json(json.loads(config.path(config.genesis).read_text()))
    data_dir = config.path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = ChainStore(str(data_dir / "chain"))
    return open_chain(store, genesis, pool_limits=config.pool, max_tx_bytes=config.max_tx_bytes,
                      execution_process=config.execution_process, execution_niceness=config.execution_niceness)


def consensus_driver(config: NodeConfig, chain: ChainParts, thread: ConsensusThread,
                     transport: Transport | None = None) -> ConsensusDriver:
    """The network's driver on this node's engine; with no transport it is a lone validator (n = 1)."""
    signer = PrivateKeySigner(read_key(config.path(config.validator_key)))
    clock = WallClock()
    adapter = EngineChain(chain, signer.address, config.max_txs_per_block, config.max_block_gas or None,
                          NextBlockPolicy(clock, config.block_period_ms))
    return ConsensusDriver(
        adapter, signer, NodeBlockCodec(), transport or LoopbackTransport(), thread,
        ResumeFile(config.path(config.data_dir) / RESUME_FILE), clock,
        DriverConfig(period_ms=config.block_period_ms, allow_empty=config.allow_empty_blocks))


async def run_node(config: NodeConfig) -> int:
    from node.rpc.exposure import rpc_guard
    from node.rpc.server import bound_port, serve

    if config.p2p is not None:  # a consortium node: peers over mutual TLS (node/launch/consortium.py)
        from node.launch.consortium import run_consortium_node

        return await run_consortium_node(config)

    guard = rpc_guard(config)  # an RPC exposed beyond loopback without auth never starts
    chain = open_engine(config)
    engine = chain.engine
    if config.recover_senders_in_workers:
        chain.front.workers = WorkerPool(chain.limits, preload=("node.rpc.prepare",))
    backend = EngineBackend(chain, node_id=config.node_id)
    thread = ConsensusThread()
    driver = consensus_driver(config, chain, thread)
    if len(engine.validators_for(engine.head.number + 1)) > 1:
        log.warning("event=consensus_without_peers validators=%d: this node has no p2p transport yet, so it "
                    "cannot finalize blocks on its own", len(engine.validators_for(engine.head.number + 1)))
    runner_rpc = await serve(backend, config.rpc_host, config.rpc_port, middlewares=guard.middlewares,
                             ssl_context=guard.ssl_context)
    stop, consensus = await start_consensus(thread, driver, chain)
    freeze_startup_heap()  # node/proc/heap.py
    # Logged only once a SIGTERM would be handled: whoever waits for this line may stop the node cleanly at once.
    log.info("event=node_started node_id=%s chain_id=%d head=%d state=0x%s rpc=%s:%d", config.node_id,
             chain.genesis.chain_id, engine.head.number, engine.head.state_root.hex(), config.rpc_host,
             bound_port(runner_rpc))
    failed = await run_until_stopped(engine, thread, consensus, stop)
    await runner_rpc.cleanup()
    if chain.front.workers is not None:
        chain.front.workers.close()
    chain.front.durable()  # the journal's last records (txs that left the pool) before the store closes
    engine.close()
    chain.store.close()
    log.info("event=node_stopped head=%d", engine.head.number)
    return 2 if engine.halted or failed else 0


async def start_consensus(thread: ConsensusThread, driver: ConsensusDriver,
                          chain: ChainParts) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """Starts the consensus thread and turns SIGINT/SIGTERM into a stop event (a lone or a consortium node)."""
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
