"""The node's default limits, in a module that imports nothing, so reading a config stays instant."""

from __future__ import annotations

DEFAULT_BLOCK_PERIOD_MS = 200
# A block of 1,500 single-entry txs executes in 130-200 ms in the execution process, about one default period.
# When execution shared the node's GIL, bigger blocks held it in longer stretches and eth_call's p99 under load
# rose past 20 ms; with execution in its own process, 3,000 measured no faster (bench.node's workload with its
# eth_call probe, 8 runs each: 3,777 / 3,824 tx/s, within the machine's noise), so the cap stays.
DEFAULT_MAX_TXS_PER_BLOCK = 1_500
DEFAULT_MAX_TX_BYTES = 128 * 1024
