"""The node's Prometheus metrics (prometheus-client), served on their own port at /metrics.

Gauges are read at scrape time from the live objects (head, core round, peers, pool), so nothing is
sampled on a timer; round changes, block execution time and finality latency are recorded as they happen,
told by the hooks of the driver, the chain adapter and the engine (node/launch/parts.py subscribes them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger("colend.node")
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
EXECUTION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class NodeMetrics:
    def __init__(self, *, height: Callable[[], int], round_: Callable[[], int], peers: Callable[[], int],
                 pool_size: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        for name, doc, read in (("colend_height", "Head block number", height),
                                ("colend_round", "Current QBFT round at the height being decided", round_),
                                ("colend_peers", "Authenticated p2p peers connected", peers),
                                ("colend_pool_size", "Transactions waiting in the pool", pool_size)):
            Gauge(name, doc, registry=self.registry).set_function(read)
        self.round_changes = Counter("colend_round_changes", "Round timeouts that moved to a higher round",
                                     registry=self.registry)
        self.block_execution = Histogram("colend_block_execution_seconds", "Time to execute a proposed or received block",
                                         buckets=EXECUTION_BUCKETS, registry=self.registry)
        self.finality = Histogram("colend_finality_latency_seconds",
                                  "From a client's tx reaching this node to its block being final here",
                                  buckets=LATENCY_BUCKETS, registry=self.registry)

    def round_changed(self, height: int, round_: int) -> None:
        """A round timeout moved the core to `round_` at `height` (network/driver.py's round-change observer)."""
        self.round_changes.inc()
        log.info("event=round_change height=%d round=%d", height, round_)

    async def serve(self, host: str, port: int) -> web.AppRunner:
        async def metrics(_request: web.Request) -> web.Response:
            return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        return runner
