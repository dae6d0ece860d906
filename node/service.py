"""Runs one node process: store, engine, QBFT consensus and the JSON-RPC server until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import json
import logging
import signal

from network.qbft import PrivateKeySigner
from network.transport import LoopbackTransport, Transport
from node.backend import EngineBackend
from node.chain.genesis import Genesis
from node.config import NodeConfig
from node.consensus_driver import ConsensusDriver
from node.consensus_runner import ConsensusRunner
from node.engine import ChainEngine
from node.keyfiles import read_key
from node.resume_file import ResumeFile
from node.store.chain_store import ChainStore

log = logging.getLogger("colend.node")
RESUME_FILE = "consensus.resume"


def open_engine(config: NodeConfig) -> ChainEngine:
    genesis = Genesis.from_json(json.loads(config.path(config.genesis).read_text()))
    data_dir = config.path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = ChainStore(str(data_dir / "chain"))
    return ChainEngine(store, genesis, pool_limits=config.pool, max_tx_bytes=config.max_tx_bytes)


def consensus_driver(config: NodeConfig, engine: ChainEngine, runner: ConsensusRunner,
                     transport: Transport | None = None, *,
                     driver_class: type[ConsensusDriver] = ConsensusDriver) -> ConsensusDriver:
    """The node's QBFT driver; with no transport it is a lone validator (the embedded n = 1 default)."""
    return driver_class(
        engine, PrivateKeySigner(read_key(config.path(config.validator_key))), transport or LoopbackTransport(),
        runner, ResumeFile(config.path(config.data_dir) / RESUME_FILE), period_ms=config.block_period_ms,
        allow_empty=config.allow_empty_blocks, max_txs=config.max_txs_per_block)


async def run_node(config: NodeConfig) -> int:
    from node.rpc.server import bound_port, serve
    from node.rpc_exposure import rpc_guard

    if config.p2p is not None:  # a consortium node: peers over mutual TLS (node/p2p_wiring.py)
        from node.p2p_wiring import run_consortium_node

        return await run_consortium_node(config)

    guard = rpc_guard(config)  # an RPC exposed beyond loopback without auth never starts
    engine = open_engine(config)
    backend = EngineBackend(engine, node_id=config.node_id)
    runner = ConsensusRunner()
    driver = consensus_driver(config, engine, runner)
    if len(engine.validators_for(engine.head.number + 1)) > 1:
        log.warning("event=consensus_without_peers validators=%d: this node has no p2p transport yet, so it "
                    "cannot finalize blocks on its own", len(engine.validators_for(engine.head.number + 1)))
    runner_rpc = await serve(backend, config.rpc_host, config.rpc_port, middlewares=guard.middlewares,
                             ssl_context=guard.ssl_context)
    await runner.start(driver)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    consensus = asyncio.create_task(runner.run())
    # Logged only once a SIGTERM would be handled: whoever waits for this line may stop the node cleanly at once.
    log.info("event=node_started node_id=%s chain_id=%d head=%d state=0x%s rpc=%s:%d", config.node_id,
             engine.genesis.chain_id, engine.head.number, engine.head.state_root.hex(), config.rpc_host,
             bound_port(runner_rpc))
    failed = False
    stopping = asyncio.create_task(stop.wait())
    while not stop.is_set() and not consensus.done():
        await asyncio.wait({stopping, consensus}, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
        if engine.halted:
            log.critical("event=node_halted reason=%s", engine.halted)
            break
    stopping.cancel()
    runner.stop()
    try:
        await consensus
    except Exception:
        failed = True
        log.critical("event=consensus_failed", exc_info=True)
    await runner_rpc.cleanup()
    engine.store.close()
    log.info("event=node_stopped head=%d", engine.head.number)
    return 2 if engine.halted or failed else 0
