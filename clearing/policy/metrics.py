"""The regulator's limit checks as Prometheus gauges, rebuilt from the latest report at every scrape.

A custom collector rather than module-level Gauges: the series follow the report exactly (a pair that no
longer exists disappears), nothing is global, and each service registers into its own registry. Values are
floats because Prometheus has no other type; decisions are made on the report's exact integers (`status`).
Labels: `rule` (PARTNER_TIER1 | JOINT_TOTAL_LOANS), `bank`, `partner` (empty for JOINT_TOTAL_LOANS).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from clearing.policy.limits import BPS
from clearing.policy.model import CheckStatus, ExposureReport

PREFIX = "colend_policy"
CHECK_LABELS = ("rule", "bank", "partner")


class ExposureMetrics(Collector):
    """Register once per registry, then `update(report)` whenever a new report is computed."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._report: ExposureReport | None = None
        registry.register(self)

    def update(self, report: ExposureReport) -> None:
        self._report = report  # one reference swap: a concurrent scrape sees the old report or the new one

    def collect(self) -> Iterator[GaugeMetricFamily]:
        report = self._report
        if report is None:
            return
        exposure = gauge("exposure_fen", "Outstanding joint-lending balance checked, in fen", labels=CHECK_LABELS)
        limit = gauge("limit_fen", "Largest balance within the limit, in fen (declared banks)", labels=CHECK_LABELS)
        ratio = gauge("ratio", "Balance / base (tier-1 net capital or total loans)", labels=CHECK_LABELS)
        status = gauge("check_status", "1 for the check's current status", labels=(*CHECK_LABELS, "status"))
        breach = gauge("breach", "1 when the check is in breach, else 0", labels=CHECK_LABELS)
        for check in report.checks:
            labels = [check.rule.value, check.bank, check.partner or ""]
            exposure.add_metric(labels, check.exposure)
            if check.base is not None:
                limit.add_metric(labels, check.limit_amount or 0)
                exact = check.ratio
                if exact is not None:
                    ratio.add_metric(labels, float(exact))
            breach.add_metric(labels, 1 if check.status is CheckStatus.BREACH else 0)
            for value in CheckStatus:
                status.add_metric([*labels, value.value], 1 if check.status is value else 0)
        yield from (exposure, limit, ratio, status, breach)

        limits = gauge("limit_ratio", "The limit in force, as a share of the base", labels=("rule",))
        limits.add_metric(["PARTNER_TIER1"], report.limits.partner_bps / BPS)
        limits.add_metric(["JOINT_TOTAL_LOANS"], report.limits.joint_lending_bps / BPS)
        yield limits
        yield gauge("breaches", "Limit checks in breach", value=len(report.breaches))
        yield gauge("undeclared_banks", "Banks with balances but no declared figures", value=len(report.undeclared))
        figures = gauge("declared_figure_fen", "A bank's declared figure, in fen", labels=("bank", "figure"))
        as_of = gauge("figures_as_of_timestamp_seconds", "As-of date of a bank's figures (UTC midnight)", labels=("bank",))
        for bank in report.banks:
            if bank.figures is None:
                continue
            figures.add_metric([bank.bank, "tier1_net_capital"], bank.figures.tier1_net_capital)
            figures.add_metric([bank.bank, "total_loans"], bank.figures.total_loans)
            as_of.add_metric([bank.bank], dt.datetime.combine(bank.figures.as_of, dt.time(), dt.UTC).timestamp())
        yield from (figures, as_of)
        if report.index_block is not None:
            yield gauge("index_block", "Index block the report was computed at", value=report.index_block)


def gauge(name: str, documentation: str, labels: tuple[str, ...] = (), value: float | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=None if value is not None else labels, value=value)


def publish_exposures(report: ExposureReport, registry: CollectorRegistry) -> ExposureMetrics:
    """Register the policy gauges in `registry` showing `report`; keep the result and `update` it later."""
    metrics = ExposureMetrics(registry)
    metrics.update(report)
    return metrics
