"""Runs one node process, lone or peered, with one or more ledger groups: start its parts, serve until
SIGTERM/SIGINT, stop them in order.

The one start-up and shutdown sequence; what a peered node adds (node/launch/peering.py) is one optional part it
starts first and stops first. Started: the p2p host, JSON-RPC (each group at /g/<name>, the first also at /),
Prometheus /metrics when configured, then each group's consensus. A group whose chain halts (a state commitment
mismatch) or whose consensus fails stops alone, loudly; the others go on. While it runs, the node starts the
groups its node.toml newly lists and stops those it no longer lists (node/launch/config_watch.py). Stopped: the
host, RPC, metrics, then each group's consensus, worker processes, pool journal, executor and store.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from network.errors import ChainHalted
from node.config import GroupConfig, NodeConfig
from node.launch.config_watch import ConfigWatch
from node.launch.parts import GroupParts, NodeParts, added_group_parts, close_chains, node_parts
from node.proc.heap import freeze_startup_heap
from node.rpc.exposure import rpc_guard
from node.rpc.server import RpcServer, bound_port, serve

log = logging.getLogger("colend.node")
SUPERVISE_POLL_S = 0.5  # how often a running node looks for a halt and at its config file


@dataclass
class RunningGroup:
    """A group whose consensus was started: its parts and the task that ends when its consensus does."""

    parts: GroupParts
    consensus: asyncio.Task[None]
    failed: bool = False
    stopped: bool = False


async def run_node(config: NodeConfig, config_path: Path | None = None) -> int:
    """The node's exit code: 0 after a clean stop, 2 if any group halted or its consensus failed. With
    `config_path`, the groups that file lists are started and stopped while the node runs."""
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
    groups = NodeGroups(config, parts, rpc)
    for group in parts.groups:
        await groups.start(group)
    freeze_startup_heap()  # node/proc/heap.py
    head = default.chain.engine.head
    several = f" groups={','.join(g.name for g in parts.groups)}" if len(parts.groups) > 1 else ""
    # Logged only once a SIGTERM would be handled: whoever waits for this line may stop the node cleanly at once.
    log.info("event=node_started node_id=%s chain_id=%d head=%d state=0x%s rpc=%s:%d%s%s", config.node_id,
             default.chain.genesis.chain_id, head.number, head.state_root.hex(), config.rpc_host, bound_port(rpc),
             peering.started_fields() if peering is not None else "", several)
    await groups.supervise(stop, ConfigWatch(config_path) if config_path is not None else None)
    if peering is not None:
        await peering.stop()
    await rpc.cleanup()
    if metrics_runner is not None:
        await metrics_runner.cleanup()
    groups.close()
    return 2 if groups.failed() else 0


def stop_on_signals() -> asyncio.Event:
    """SIGINT and SIGTERM set the returned event."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


class NodeGroups:
    """The node's groups while it runs: each one's consensus started, supervised, and stopped alone; groups
    added and removed as the config file says."""

    def __init__(self, config: NodeConfig, parts: NodeParts, rpc: RpcServer) -> None:
        self.config = config
        self.parts = parts
        self.rpc = rpc
        self.running: dict[str, RunningGroup] = {}

    async def start(self, group: GroupParts) -> None:
        """Starts the group's consensus thread; its task ends when its consensus does."""
        await group.thread.start(group.driver, group.chain.front)
        self.running[group.name] = RunningGroup(group, asyncio.create_task(group.thread.run()))

    async def supervise(self, stop: asyncio.Event, watch: ConfigWatch | None) -> None:
        """Serves until a stop signal or until no group runs: a group that halts or whose consensus ends is
        stopped alone, the others go on; at the stop signal every group still running is stopped."""
        stopping = asyncio.create_task(stop.wait())
        while not stop.is_set():
            live = [r for r in self.running.values() if not r.stopped]
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
            changed = watch.changed() if watch is not None and not stop.is_set() else None
            if changed is not None:
                await self.apply(changed)
        stopping.cancel()
        for group in self.running.values():
            await stop_group(group)

    async def apply(self, config: NodeConfig) -> None:
        """Start the groups `config` newly lists, stop those it no longer lists, dial the peers it adds."""
        if self.parts.peering is not None and config.p2p is not None:
            self.parts.peering.add_peers(config)
        wanted = {g.name: g for g in config.groups}
        for name in [n for n in self.running if n not in wanted]:
            await self.remove(name)
        for name, group in wanted.items():
            if name not in self.running:
                await self.add(config, group)
            elif group != self._configured(name):
                log.warning("event=group_change_ignored group=%s: a running group's files change at the next start",
                            name)

    def _configured(self, name: str) -> GroupConfig | None:
        return next((g for g in self.config.groups if g.name == name), None)

    async def add(self, config: NodeConfig, group_config: GroupConfig) -> None:
        name = group_config.name
        try:
            group = await asyncio.to_thread(added_group_parts, config, group_config, self.parts)
        except Exception:
            log.exception("event=group_start_failed group=%s", name)
            return
        self.config = replace(self.config, groups=(*self.config.groups, group_config))
        self.rpc.add_endpoint(name, group.backend)
        await self.start(group)
        head = group.chain.engine.head
        log.info("event=group_started group=%s chain_id=%d head=%d state=0x%s", name, group.chain.genesis.chain_id,
                 head.number, head.state_root.hex())

    async def remove(self, name: str) -> None:
        if name == self.parts.groups[0].name:
            log.warning("event=group_stop_refused group=%s: the node's default group (served at /) runs until the "
                        "node stops", name)
            return
        group = self.running.pop(name)
        await stop_group(group)
        await self.rpc.remove_endpoint(name)
        if self.parts.peering is not None:
            self.parts.peering.remove_group(name)
        if self.parts.metrics is not None:
            self.parts.metrics.drop_group(name)
        close_chains([group.parts.chain])
        self.config = replace(self.config, groups=tuple(g for g in self.config.groups if g.name != name))
        log.info("event=group_stopped group=%s head=%d: its data stays", name, group.parts.chain.engine.head.number)

    def failed(self) -> bool:
        return any(r.failed or r.parts.chain.engine.halted for r in self.running.values())

    def close(self) -> None:
        close_chains([r.parts.chain for r in self.running.values()])
        for group in self.running.values():
            log.info("event=node_stopped group=%s head=%d", group.parts.name, group.parts.chain.engine.head.number)


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
