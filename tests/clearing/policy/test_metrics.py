"""The policy gauges show exactly the latest report: values, statuses, and no series left from older ones."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, generate_latest

from clearing.policy import DeclaredFigures, TranchePosition, compute_exposures, tranche_frame
from clearing.policy.metrics import publish_exposures

FIGURES = {"MYBANK": DeclaredFigures("MYBANK", 2_000_000, 1_000_000, dt.date(2026, 9, 30))}


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(f"colend_policy_{name}", labels)


def test_gauges_follow_the_report() -> None:
    tranches = [TranchePosition("L1", "WEBANK", "WEBANK", 300_000), TranchePosition("L1", "MYBANK", "WEBANK", 600_000)]
    registry = CollectorRegistry()
    metrics = publish_exposures(compute_exposures(tranche_frame(tranches), FIGURES, index_block=9), registry)
    pair = {"rule": "PARTNER_TIER1", "bank": "MYBANK", "partner": "WEBANK"}
    assert sample(registry, "exposure_fen", **pair) == 600_000
    assert sample(registry, "limit_fen", **pair) == 500_000
    assert sample(registry, "ratio", **pair) == 0.3
    assert sample(registry, "check_status", **pair, status="BREACH") == 1
    assert sample(registry, "check_status", **pair, status="PASS") == 0
    assert sample(registry, "breach", **pair) == 1
    joint = {"rule": "JOINT_TOTAL_LOANS", "bank": "MYBANK", "partner": ""}
    assert sample(registry, "check_status", **joint, status="BREACH") == 1
    undeclared = {"rule": "PARTNER_TIER1", "bank": "WEBANK", "partner": "MYBANK"}
    assert sample(registry, "check_status", **undeclared, status="UNDECLARED") == 1
    assert sample(registry, "limit_fen", **undeclared) is None
    assert sample(registry, "breach", **undeclared) == 0
    assert (sample(registry, "breaches"), sample(registry, "undeclared_banks"), sample(registry, "index_block")) == (2, 1, 9)
    assert sample(registry, "declared_figure_fen", bank="MYBANK", figure="tier1_net_capital") == 2_000_000
    midnight = dt.datetime(2026, 9, 30, tzinfo=dt.UTC).timestamp()
    assert sample(registry, "figures_as_of_timestamp_seconds", bank="MYBANK") == midnight
    assert sample(registry, "limit_ratio", rule="PARTNER_TIER1") == 0.25

    metrics.update(compute_exposures(tranche_frame([]), FIGURES, index_block=10))
    assert sample(registry, "exposure_fen", **pair) is None  # the pair is gone, so is its series
    assert (sample(registry, "breaches"), sample(registry, "index_block")) == (0, 10)
    assert b"colend_policy_check_status" in generate_latest(registry)
