"""The node's default limits, in a module that imports nothing, so reading a config stays instant."""

from __future__ import annotations

DEFAULT_BLOCK_PERIOD_MS = 200
# A block of 1,500 single-entry txs executes in ~130 ms, within one default period; bigger blocks held the GIL in
# longer stretches (revm's journal alone: ~10 ms per 2,000 txs) and eth_call's p99 under load rose past 20 ms.
DEFAULT_MAX_TXS_PER_BLOCK = 1_500
DEFAULT_MAX_TX_BYTES = 128 * 1024
