"""Runs one node process, lone or peered, with one or more ledger groups: start its parts, serve until
SIGTERM/SIGINT, stop them in order.

The one start-up and shutdown sequence; what a peered node adds (node/launch/peering.py) is one optional part it
starts first and stops first. Started: the p2p host, JSON-RPC (each group at /g/<name>, the first also at /),
Prometheus /metrics when configured, then each group's consensus. A group whose chain halts (a state commitment
mismatch) or whose consensus fails stops alone, loudly; the others go on. Stopped: the host, RPC, metrics, then
each group's consensus, worker processes, pool journal, executor and store.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from aiohttp import web

from network.errors import ChainHalted
from node.config import NodeConfig
from node.launch.parts import GroupParts, close_chains, node_parts
from node.proc.heap import freeze_startup_heap
from node.rpc.exposure import rpc_guard
from node.rpc.server import bound_port, serve

log = logging.getLogger("colend.node")
SUPERVISE_POLL_S = 0.5  # how often a running node looks for a halt


@dataclass
class RunningGroup:
    """A group whose consensus runs: its parts and the task that ends when its consensus does."""

    parts: GroupParts
    consensus: asyncio.Task[None]
    failed: bool = False
    stopped: bool = False


async def run_node(config: NodeConfig) -> int:
    """The node's exit code: 0 after a clean stop, 2 if any group halted or its consensus failed."""
    guard = rpc_guard(config)  # before anything opens: an RPC exposed beyond loopback without auth never starts
    parts = node_parts(config)
    peering, default = parts.peering, parts.groups[0]
    if peering is not None:
        await peering.start()
    rpc = await serve(default.backend, config.rpc_host, config.rpc_port, group=default.name,
                      middlewares=guard.middlewares, ssl_context=guard.ssl_context)
    for group in parts.groups[1:]:
        rpc.add_endpoint(group.name, group.backend)
    metrics_runner: web.AppRunner | None = None
    if parts.metrics is not None and config.metrics_port:
        metrics_runner = await parts.metrics.serve(config.rpc_host, config.metrics_port)
    stop = stop_on_signals()
    running = [RunningGroup(group, await start_consensus(group)) for group in parts.groups]
    freeze_startup_heap()  # node/proc/heap.py
    head = default.chain.engine.head
    several = f" groups={','.join(g.name for g in parts.groups)}" if len(parts.groups) > 1 else ""
    # Logged only once a SIGTERM would be handled: whoever waits for this line may stop the node cleanly at once.
    log.info("event=node_started node_id=%s chain_id=%d head=%d state=0x%s rpc=%s:%d%s%s", config.node_id,
             default.chain.genesis.chain_id, head.number, head.state_root.hex(), config.rpc_host, bound_port(rpc),
             peering.started_fields() if peering is not None else "", several)
    await supervise(running, stop)
    if peering is not None:
        await peering.stop()
    await rpc.cleanup()
    if metrics_runner is not None:
        await metrics_runner.cleanup()
    close_chains([group.chain for group in parts.groups])
    for group in parts.groups:
        log.info("event=node_stopped group=%s head=%d", group.name, group.chain.engine.head.number)
    return 2 if any(r.failed or r.parts.chain.engine.halted for r in running) else 0


def stop_on_signals() -> asyncio.Event:
    """SIGINT and SIGTERM set the returned event."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def start_consensus(group: GroupParts) -> asyncio.Task[None]:
    """Starts the group's consensus thread; the task ends when its consensus does."""
    await group.thread.start(group.driver, group.chain.front)
    return asyncio.create_task(group.thread.run())


async def supervise(running: list[RunningGroup], stop: asyncio.Event) -> None:
    """Serves until a stop signal or until every group has stopped: a group that halts or whose consensus ends
    is stopped alone, the others go on; at the stop signal every group still running is stopped."""
    stopping = asyncio.create_task(stop.wait())
    while not stop.is_set():
        live = [r for r in running if not r.stopped]
        if not live:
            break
        await asyncio.wait({stopping, *(r.consensus for r in live)}, timeout=SUPERVISE_POLL_S,
                           return_when=asyncio.FIRST_COMPLETED)
        for group in live:
            halted = group.parts.chain.engine.halted
            if halted:
                log.critical("event=node_halted group=%s reason=%s", group.parts.name, halted)
            if halted or group.consensus.done():
                await stop_group(group)
    stopping.cancel()
    for group in running:
        await stop_group(group)


async def stop_group(group: RunningGroup) -> None:
    """Stops the group's consensus thread and waits for it; a failure is logged and marks the group failed."""
    if group.stopped:
        return
    group.stopped = True
    group.parts.thread.stop()
    try:
        await group.consensus
    except ChainHalted:
        group.failed = True
        log.critical("event=node_halted group=%s reason=state_commitment_mismatch", group.parts.name, exc_info=True)
    except Exception:
        group.failed = True
        log.critical("event=consensus_failed group=%s", group.parts.name, exc_info=True)
