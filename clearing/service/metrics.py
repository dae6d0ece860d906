"""Prometheus metrics of one service, in its own registry (no process-global state).

Requests and latencies are counted by the middleware; index lag, open breaks by type and age bucket, and
(with the policy module) exposures and limits are read fresh on each scrape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from clearing.recon.breaks import age_bucket

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True)
class Gauges:
    """What the service reports at scrape time."""

    index_block: int | None
    chain_head: int | None
    open_breaks: list[tuple[str, str, str, str]]  # (bank, break_type, state, first_seen ISO date)
    today: dt.date
    run_active: bool
    exposures: list[tuple[str, dict[str, str], float]]  # (metric name, labels, value)


class _ScrapeCollector(Collector):
    def __init__(self, read: Callable[[], Gauges]) -> None:
        self.read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        g = self.read()
        lag = GaugeMetricFamily("colend_index_lag_blocks", "blocks the index is behind the node's head")
        if g.chain_head is not None:
            lag.add_metric([], max(g.chain_head - (-1 if g.index_block is None else g.index_block), 0))
        yield lag
        block = GaugeMetricFamily("colend_index_block", "last block applied to the index")
        if g.index_block is not None:
            block.add_metric([], g.index_block)
        yield block
        running = GaugeMetricFamily("colend_recon_run_active", "1 while a reconciliation run is going")
        running.add_metric([], 1 if g.run_active else 0)
        yield running
        opened = GaugeMetricFamily(
            "colend_open_breaks", "unresolved breaks by bank, type, state and age bucket",
            labels=["bank", "type", "state", "age"],
        )  # fmt: skip
        counts: dict[tuple[str, str, str, str], int] = {}
        for bank, btype, state, first_seen in g.open_breaks:
            key = (bank, btype, state, age_bucket(dt.date.fromisoformat(first_seen), g.today))
            counts[key] = counts.get(key, 0) + 1
        for labels, value in sorted(counts.items()):
            opened.add_metric(list(labels), value)
        yield opened
        families: dict[str, GaugeMetricFamily] = {}
        for name, labels, value in g.exposures:
            family = families.get(name)
            if family is None:
                family = families[name] = GaugeMetricFamily(name, f"policy figure {name}", labels=sorted(labels))
            family.add_metric([labels[k] for k in sorted(labels)], value)
        yield from families.values()


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "colend_http_requests", "HTTP requests by route, method and status",
            ["route", "method", "status"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "colend_http_request_seconds", "HTTP request latency by route", ["route", "method"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip

    def attach(self, read: Callable[[], Gauges]) -> None:
        self.registry.register(_ScrapeCollector(read))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
