"""The node's Prometheus metrics (prometheus-client), served on their own port at /metrics, labelled by group.

Every series carries the ledger group it measures (`group="main"` for a node configured without groups).
Gauges are read at scrape time from the live objects (head, core round, peers, pool), so nothing is sampled
on a timer; round changes, block execution time and finality latency are recorded as they happen, told by
the hooks of each group's driver, chain adapter and engine (node/launch/parts.py subscribes them).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger("colend.node")
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
EXECUTION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
GROUP = ("group",)


@dataclass(frozen=True)
class GroupSeries:
    """One group's counters and histograms, for its hooks to record into."""

    name: str
    round_changes: Counter
    block_execution: Histogram
    finality: Histogram

    def round_changed(self, height: int, round_: int) -> None:
        """A round timeout moved the group's core to `round_` at `height` (network/driver.py's observer)."""
        self.round_changes.inc()
        log.info("event=round_change group=%s height=%d round=%d", self.name, height, round_)


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._gauges = {name: Gauge(name, doc, GROUP, registry=self.registry) for name, doc in (
            ("colend_height", "Head block number"),
            ("colend_round", "Current QBFT round at the height being decided"),
            ("colend_peers", "Authenticated p2p peers that carry the group"),
            ("colend_pool_size", "Transactions waiting in the pool"),
            ("colend_lag_blocks", "Blocks the head is behind the highest height a peer of the group reported"))}
        self._round_changes = Counter("colend_round_changes", "Round timeouts that moved to a higher round", GROUP,
                                      registry=self.registry)
        self._block_execution = Histogram("colend_block_execution_seconds",
                                          "Time to execute a proposed or received block", GROUP,
                                          buckets=EXECUTION_BUCKETS, registry=self.registry)
        self._finality = Histogram("colend_finality_latency_seconds",
                                   "From a client's tx reaching this node to its block being final here", GROUP,
                                   buckets=LATENCY_BUCKETS, registry=self.registry)

    def group(self, name: str, *, height: Callable[[], int], round_: Callable[[], int], peers: Callable[[], int],
              pool_size: Callable[[], int], lag: Callable[[], int]) -> GroupSeries:
        """A group's series: its gauges read from these callables, its counters handed back to its hooks."""
        for metric, read in (("colend_height", height), ("colend_round", round_), ("colend_peers", peers),
                             ("colend_pool_size", pool_size), ("colend_lag_blocks", lag)):
            self._gauges[metric].labels(group=name).set_function(read)
        return GroupSeries(name, self._round_changes.labels(group=name), self._block_execution.labels(group=name),
                           self._finality.labels(group=name))

    def drop_group(self, name: str) -> None:
        """A group stopped: its series leave the registry (a scrape no longer shows them)."""
        for metric in (*self._gauges.values(), self._round_changes, self._block_execution, self._finality):
            with contextlib.suppress(KeyError):
                metric.remove(name)

    async def serve(self, host: str, port: int) -> web.AppRunner:
        async def metrics(_request: web.Request) -> web.Response:
            return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        return runner
