"""The node's default limits, in a module that imports nothing, so reading a config stays instant.

node/consensus_driver.py still defines DEFAULT_BLOCK_PERIOD_MS and DEFAULT_MAX_TXS_PER_BLOCK for its own
signature defaults; they must stay equal to these (its next rewrite should import them from here)."""

from __future__ import annotations

DEFAULT_BLOCK_PERIOD_MS = 200
DEFAULT_MAX_TXS_PER_BLOCK = 5_000
DEFAULT_MAX_TX_BYTES = 128 * 1024
