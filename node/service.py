"""Runs one node process: store, engine, block producer and the JSON-RPC server until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import json
import logging
import signal

from node.backend import EngineBackend
from node.chain.genesis import Genesis
from node.config import NodeConfig
from node.engine import ChainEngine
from node.keyfiles import read_key
from node.producer import SingleValidatorProducer
from node.store.chain_store import ChainStore

log = logging.getLogger("colend.node")


def open_engine(config: NodeConfig) -> ChainEngine:
    genesis = Genesis.from_json(json.loads(config.path(config.genesis).read_text()))
    data_dir = config.path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = ChainStore(str(data_dir / "chain"))
    return ChainEngine(store, genesis, pool_limits=config.pool, max_tx_bytes=config.max_tx_bytes)


async def run_node(config: NodeConfig) -> int:
    from node.rpc.server import bound_port, serve

    engine = open_engine(config)
    backend = EngineBackend(engine, node_id=config.node_id)
    producer = SingleValidatorProducer(
        engine, read_key(config.path(config.validator_key)), period_ms=config.block_period_ms,
        allow_empty=config.allow_empty_blocks, max_txs=config.max_txs_per_block)
    runner = await serve(backend, config.rpc_host, config.rpc_port)
    log.info("event=node_started node_id=%s chain_id=%d head=%d state=0x%s rpc=%s:%d", config.node_id,
             engine.genesis.chain_id, engine.head.number, engine.head.state_root.hex(), config.rpc_host,
             bound_port(runner))
    producer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        except TimeoutError:
            if engine.halted:
                log.critical("event=node_halted reason=%s", engine.halted)
                break
    producer.stop()
    await runner.cleanup()
    engine.store.close()
    log.info("event=node_stopped head=%d", engine.head.number)
    return 2 if engine.halted else 0
