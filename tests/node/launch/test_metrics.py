"""NodeMetrics fed through the hooks the parts offer, as node/launch/parts.py subscribes it."""

from __future__ import annotations

import logging

from network.abc import TimerKind
from network.qbft.resume import MemoryResumeStore
from network.transport import LoopbackTransport
from node.consensus.chain_adapter import EngineChain
from node.launch.metrics import NodeMetrics
from tests.node.support import BANK_A, GENESIS_MS, VALIDATOR, ManualClock, ManualTimers, node_driver, open_engine, tx


def test_round_changes_and_block_execution_are_counted_through_the_driver_and_adapter_hooks(tmp_path, caplog) -> None:
    chain = open_engine(tmp_path / "db")
    clock, timers = ManualClock(GENESIS_MS), ManualTimers()
    driver = node_driver(chain, VALIDATOR, LoopbackTransport(), timers, MemoryResumeStore(), clock)
    adapter = driver.chain
    assert isinstance(adapter, EngineChain)
    metrics = NodeMetrics()
    series = metrics.group("main", height=lambda: chain.engine.head.number, round_=lambda: 0, peers=lambda: 0,
                           pool_size=lambda: len(chain.front.pool), lag=lambda: 0)
    metrics.group("other", height=lambda: 7, round_=lambda: 0, peers=lambda: 0, pool_size=lambda: 0, lag=lambda: 3)
    adapter.execution_observers.append(series.block_execution.observe)
    driver.round_change_observers.append(series.round_changed)
    main, other = {"group": "main"}, {"group": "other"}
    driver.start()

    with caplog.at_level(logging.INFO, logger="colend.node"):
        driver.on_timer(timers.pending[TimerKind.ROUND][0])  # nothing to include: round 0 times out
    assert metrics.registry.get_sample_value("colend_round_changes_total", main) == 1
    assert metrics.registry.get_sample_value("colend_round_changes_total", other) == 0  # each group its own series
    assert "event=round_change group=main height=1 round=1" in caplog.text

    chain.front.submit(tx(BANK_A, 0, b"\x22" * 20))
    clock.now += 10_000
    assert driver.try_build() and chain.engine.head.number == 1
    assert metrics.registry.get_sample_value("colend_block_execution_seconds_count", main) == 1
    assert metrics.registry.get_sample_value("colend_height", main) == 1
    assert metrics.registry.get_sample_value("colend_height", other) == 7
    assert metrics.registry.get_sample_value("colend_lag_blocks", other) == 3
